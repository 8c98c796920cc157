# Quickstart: one space with a Bitbucket Cloud integration, a default Bitbucket
# Data Center integration, the webhook of each on every repository of a Cloud
# workspace and of a Data Center project, and one stack bound to a repository through
# each integration (stacks.tf).
#
# The provider reads ORBIT_ENDPOINT and ORBIT_API_KEY from the environment, and the
# Bitbucket credentials it installs webhooks with from BITBUCKET_CLOUD_API_URL,
# BITBUCKET_CLOUD_EMAIL, BITBUCKET_CLOUD_API_TOKEN, BITBUCKET_DC_API_URL and
# BITBUCKET_DC_TOKEN. `make demo` starts a local orbit-server and Bitbucket sandbox
# and applies this directory.

terraform {
  required_version = ">= 1.11"

  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

provider "orbit" {}

resource "orbit_space" "platform" {
  name             = "platform"
  inherit_entities = true
  description      = "Everything the platform team runs."
  labels           = ["team:platform"]
}

resource "orbit_bitbucket_cloud_integration" "platform" {
  name                 = "platform-cloud"
  space_id             = orbit_space.platform.id
  email                = var.bitbucket_cloud_email
  api_token_wo         = var.bitbucket_cloud_api_token
  api_token_wo_version = var.bitbucket_cloud_api_token_version
  labels               = ["team:platform"]
  vcs_checks           = "aggregated"

  # Raise to rotate the webhook secret: the hooks below re-key in the same apply.
  webhook_secret_version = 1
}

resource "orbit_bitbucket_datacenter_integration" "corp" {
  name                    = "corp-datacenter"
  is_default              = true
  api_host                = var.bitbucket_dc_api_host
  username                = var.bitbucket_dc_username
  access_token_wo         = var.bitbucket_dc_access_token
  access_token_wo_version = var.bitbucket_dc_access_token_version
  description             = "Company-wide Bitbucket Data Center."
  webhook_secret_version  = 1
}

data "orbit_integration_webhook" "cloud" {
  integration_id = orbit_bitbucket_cloud_integration.platform.id
}

data "orbit_integration_webhook" "datacenter" {
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
}

# Every repository, one webhook each: URL, secret and triggers come from the
# integration; out-of-band changes show in the next plan.
data "orbit_bitbucket_repositories" "cloud" {
  workspace = var.bitbucket_cloud_workspace
}

data "orbit_bitbucket_repositories" "datacenter" {
  project_key = var.bitbucket_dc_project
}

resource "orbit_bitbucket_repository_webhook" "cloud" {
  for_each = { for r in data.orbit_bitbucket_repositories.cloud.repositories : r.slug => r }

  integration_id = orbit_bitbucket_cloud_integration.platform.id
  namespace      = each.value.namespace
  repository     = each.value.slug

  webhook_secret_version = orbit_bitbucket_cloud_integration.platform.webhook_secret_version
}

resource "orbit_bitbucket_repository_webhook" "datacenter" {
  for_each = { for r in data.orbit_bitbucket_repositories.datacenter.repositories : r.slug => r }

  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = each.value.namespace
  repository     = each.value.slug

  webhook_secret_version = orbit_bitbucket_datacenter_integration.corp.webhook_secret_version
}
