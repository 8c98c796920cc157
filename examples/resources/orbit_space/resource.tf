resource "orbit_space" "platform" {
  name             = "platform"
  parent_space_id  = "root"
  inherit_entities = true
  description      = "Stacks and integrations of the platform team."
  labels           = ["team:platform"]
}
