resource "orbit_stack" "network" {
  name        = "network"
  space_id    = "platform-01hzx3k4m5n6p7q8r9s0t1v2w3"
  description = "VPCs, subnets and DNS."
  labels      = ["team:platform", "tier:core"]
}
