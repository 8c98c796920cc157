# Bind every repository of a workspace to a stack of its own, at any scale.
#
# Write it as a module instance per repository (for_each over the repositories data
# source), each holding one orbit_stack and its orbit_stack_vcs_binding, rather than
# as two resources with count or for_each where the binding refers to
# orbit_stack.stack[count.index].id: to evaluate that reference Terraform builds the
# value of every instance of orbit_stack.stack (hashicorp/terraform#26355), so each
# binding costs O(N) and the apply O(N²) in Terraform core. Measured on 2 cores
# (bench/provider -mode bindings): see the orbit_stack_vcs_binding documentation.

terraform {
  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

variable "workspace" {
  description = "Bitbucket Cloud workspace whose repositories get a stack each."
  type        = string
  default     = "acme"
}

variable "bitbucket_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "orbit_space" "services" {
  name            = "services"
  parent_space_id = "root"
}

resource "orbit_bitbucket_cloud_integration" "services" {
  name                 = "services"
  space_id             = orbit_space.services.id
  email                = "ci-bot@example.com"
  api_token_wo         = var.bitbucket_api_token
  api_token_wo_version = 1
}

data "orbit_bitbucket_repositories" "services" {
  workspace = var.workspace
}

module "repository_stack" {
  source   = "./repository-stack"
  for_each = { for r in data.orbit_bitbucket_repositories.services.repositories : r.slug => r }

  name           = each.key
  space_id       = orbit_space.services.id
  integration_id = orbit_bitbucket_cloud_integration.services.id
  namespace      = each.value.namespace
  repository     = each.value.slug
  branch         = each.value.main_branch
}

# Each repository's webhook, the same way: for_each over the data source; a webhook
# refers only to the (single) integration, so a plain resource stays linear.
resource "orbit_bitbucket_repository_webhook" "services" {
  for_each       = { for r in data.orbit_bitbucket_repositories.services.repositories : r.slug => r }
  integration_id = orbit_bitbucket_cloud_integration.services.id
  namespace      = each.value.namespace
  repository     = each.value.slug
}

output "stacks" {
  description = "Stack ID of each repository."
  value       = { for slug, m in module.repository_stack : slug => m.stack_id }
}
