# The provider talks to Bitbucket directly for this resource, with credentials of
# its own: bitbucket_cloud { email, api_token } (webhook scopes) or
# bitbucket_datacenter { token } (REPO_ADMIN), or their environment variables.
provider "orbit" {
  bitbucket_cloud {
    email = "ci-bot@example.com"
    # api_token from BITBUCKET_CLOUD_API_TOKEN
  }
}

resource "orbit_bitbucket_cloud_integration" "main" {
  name                 = "main"
  is_default           = true
  email                = "ci-bot@example.com"
  api_token_wo         = var.bitbucket_api_token
  api_token_wo_version = 1

  # Raise to rotate the webhook secret; the hooks below that take it re-key in the
  # same apply.
  webhook_secret_version = 1
}

# One repository's webhook, with the URL, secret and triggers the integration needs.
resource "orbit_bitbucket_repository_webhook" "infra" {
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"  # Cloud workspace (Data Center: project key)
  repository     = "infra" # repository slug

  # Re-key in the apply that rotates the integration's secret.
  webhook_secret_version = orbit_bitbucket_cloud_integration.main.webhook_secret_version
}

# Every repository of a workspace project, one webhook each.
data "orbit_bitbucket_repositories" "platform" {
  workspace   = "acme"
  project_key = "PLAT"
}

resource "orbit_bitbucket_repository_webhook" "platform" {
  for_each = { for r in data.orbit_bitbucket_repositories.platform.repositories : r.slug => r }

  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = each.value.namespace
  repository     = each.value.slug
  title          = "Orbit (platform)"

  webhook_secret_version = orbit_bitbucket_cloud_integration.main.webhook_secret_version
}

variable "bitbucket_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}
