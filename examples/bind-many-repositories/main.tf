# Bind every repository of one Bitbucket project to a stack of its own.
#
# A module instance per repository (for_each over the repositories data source)
# holds one orbit_stack and its orbit_stack_vcs_binding. Two resources with count or
# for_each, where each binding refers to orbit_stack.stack[count.index].id, make
# Terraform build the value of every stack for each binding (hashicorp/terraform#26355).
#
# One state per project: Terraform writes the whole state after each resource it
# applies (hashicorp/terraform#34296), so one state of N repositories costs N² in
# Terraform itself. States of a bounded size keep the total linear, for example a
# workspace per project:
#
#   terraform workspace select -or-create PLAT
#   terraform apply -var project_key=PLAT
#
# Measured figures: README.md here and the orbit_stack_vcs_binding documentation.

terraform {
  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

variable "workspace" {
  description = "Bitbucket Cloud workspace."
  type        = string
  default     = "acme"
}

variable "project_key" {
  description = "Project whose repositories get a stack each (and this state)."
  type        = string
  default     = "PLAT"
}

variable "bitbucket_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "orbit_space" "services" {
  name            = lower(var.project_key)
  parent_space_id = "root"
}

resource "orbit_bitbucket_cloud_integration" "services" {
  name                 = lower(var.project_key)
  space_id             = orbit_space.services.id
  email                = "ci-bot@example.com"
  api_token_wo         = var.bitbucket_api_token
  api_token_wo_version = 1
}

data "orbit_bitbucket_repositories" "services" {
  workspace   = var.workspace
  project_key = var.project_key
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
