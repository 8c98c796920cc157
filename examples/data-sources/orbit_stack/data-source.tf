# By id.
data "orbit_stack" "network" {
  id = "network-p4w8c2n6zr"
}

# By name within a space.
data "orbit_stack" "app" {
  name     = "app"
  space_id = "platform-k3v9q2m7xa"
}
