# One stack bound to one repository. A module instance per repository keeps every
# reference inside it to a single resource instance, so Terraform's work grows
# linearly with the number of repositories (see ../main.tf).

terraform {
  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

variable "name" {
  description = "Name of the stack."
  type        = string
}

variable "space_id" {
  description = "Space of the stack."
  type        = string
}

variable "integration_id" {
  description = "Integration the repository's webhooks come through."
  type        = string
}

variable "namespace" {
  description = "Workspace slug (Bitbucket Cloud) or project key (Data Center)."
  type        = string
}

variable "repository" {
  description = "Repository slug."
  type        = string
}

variable "branch" {
  description = "Tracked branch; \"\" (an empty repository has no main branch) for the provider's default, main."
  type        = string
  default     = ""
}

resource "orbit_stack" "this" {
  name     = var.name
  space_id = var.space_id
}

resource "orbit_stack_vcs_binding" "this" {
  stack_id       = orbit_stack.this.id
  integration_id = var.integration_id
  namespace      = var.namespace
  repository     = var.repository
  branch         = var.branch != "" ? var.branch : null
}

output "stack_id" {
  value = orbit_stack.this.id
}

output "repository_url" {
  value = orbit_stack_vcs_binding.this.repository_url
}
