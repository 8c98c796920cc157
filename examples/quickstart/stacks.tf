# One stack per integration, each bound to a repository that got the integration's
# webhook: the Cloud integration of the platform space, and the default Data Center
# integration (visible from every space).

resource "orbit_stack" "app" {
  name        = "app"
  space_id    = orbit_space.platform.id
  description = "The application, from Bitbucket Cloud."
  labels      = ["team:platform"]
}

resource "orbit_stack_vcs_binding" "app" {
  stack_id       = orbit_stack.app.id
  integration_id = orbit_bitbucket_cloud_integration.platform.id
  namespace      = var.bitbucket_cloud_workspace
  repository     = "app"
}

resource "orbit_stack" "network" {
  name        = "network"
  space_id    = orbit_space.platform.id
  description = "VPCs and DNS, from Bitbucket Data Center."
  labels      = ["team:platform"]
}

resource "orbit_stack_vcs_binding" "network" {
  stack_id       = orbit_stack.network.id
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = var.bitbucket_dc_project
  repository     = "infra"
  project_root   = "stacks/network"
}

output "stacks" {
  description = "Each stack with the repository it tracks."
  value = {
    for stack, binding in {
      (orbit_stack.app.name)     = orbit_stack_vcs_binding.app
      (orbit_stack.network.name) = orbit_stack_vcs_binding.network
    } : stack => "${binding.repository_url} @ ${binding.branch} (${binding.status})"
  }
}
