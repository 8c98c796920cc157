variable "bitbucket_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "orbit_space" "platform" {
  name = "platform"
}

# The token is write-only: Terraform sends it and never stores it. Bump
# api_token_wo_version to send a rotated token.
resource "orbit_bitbucket_cloud_integration" "main" {
  name                 = "main-cloud"
  space_id             = orbit_space.platform.id
  email                = "ci-bot@example.com"
  api_token_wo         = var.bitbucket_api_token
  api_token_wo_version = 1
  description          = "Bitbucket Cloud workspace of the platform team."
  labels               = ["team:platform"]
  vcs_checks           = "aggregated"
}

output "cloud_webhook_url" {
  value = orbit_bitbucket_cloud_integration.main.webhook_url
}
