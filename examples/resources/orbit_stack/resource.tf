resource "orbit_stack" "network" {
  name        = "network"
  space_id    = "platform-k3v9q2m7xa"
  description = "VPCs, subnets and DNS."
  labels      = ["team:platform", "tier:core"]
}
