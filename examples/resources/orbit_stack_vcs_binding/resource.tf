resource "orbit_stack" "network" {
  name     = "network"
  space_id = "platform-k3v9q2m7xa"
}

# Bitbucket Data Center: the namespace is the project key.
resource "orbit_stack_vcs_binding" "network" {
  stack_id       = orbit_stack.network.id
  integration_id = "corp-datacenter-h7t2x9q4mb"
  namespace      = "PLAT"
  repository     = "infrastructure"
  branch         = "main"
  project_root   = "stacks/network"
  # Changes under stacks/network or to a shared module run this stack; others do not.
  additional_project_globs = ["modules/network/**"]
}

resource "orbit_stack" "app" {
  name     = "app"
  space_id = "platform-k3v9q2m7xa"
}

# Bitbucket Cloud: the namespace is the workspace slug.
resource "orbit_stack_vcs_binding" "app" {
  stack_id          = orbit_stack.app.id
  integration_id    = "platform-cloud-r5j8d3v6ns"
  namespace         = "acme"
  repository        = "app"
  pull_request_runs = false
}

output "network_repository" {
  value = orbit_stack_vcs_binding.network.repository_url
}
