resource "orbit_stack" "network" {
  name     = "network"
  space_id = "platform-01hzx3k4m5n6p7q8r9s0t1v2w3"
}

# Bitbucket Data Center: the namespace is the project key.
resource "orbit_stack_vcs_binding" "network" {
  stack_id       = orbit_stack.network.id
  integration_id = "corp-datacenter-01hzx3k4m5n6p7q8r9s0t1v2w3"
  namespace      = "PLAT"
  repository     = "infrastructure"
  branch         = "main"
  project_root   = "stacks/network"
}

resource "orbit_stack" "app" {
  name     = "app"
  space_id = "platform-01hzx3k4m5n6p7q8r9s0t1v2w3"
}

# Bitbucket Cloud: the namespace is the workspace slug.
resource "orbit_stack_vcs_binding" "app" {
  stack_id          = orbit_stack.app.id
  integration_id    = "platform-cloud-01hzx3k4m5n6p7q8r9s0t1v2w3"
  namespace         = "acme"
  repository        = "app"
  pull_request_runs = false
}

output "network_repository" {
  value = orbit_stack_vcs_binding.network.repository_url
}
