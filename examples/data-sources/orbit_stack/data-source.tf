# By id.
data "orbit_stack" "network" {
  id = "network-01hzx3k4m5n6p7q8r9s0t1v2w3"
}

# By name within a space.
data "orbit_stack" "app" {
  name     = "app"
  space_id = "platform-01hzx3k4m5n6p7q8r9s0t1v2w3"
}
