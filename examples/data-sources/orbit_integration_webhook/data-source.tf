data "orbit_bitbucket_cloud_integration" "main" {
  name = "main-cloud"
}

# The secret is stored in state (marked sensitive). Where Terraform >= 1.10 is
# available, the ephemeral resource of the same name keeps it out of state.
data "orbit_integration_webhook" "main" {
  integration_id = data.orbit_bitbucket_cloud_integration.main.id
}

output "webhook_url" {
  value = data.orbit_integration_webhook.main.webhook_url
}

output "webhook_secret" {
  value     = data.orbit_integration_webhook.main.webhook_secret
  sensitive = true
}

output "required_events" {
  value = data.orbit_integration_webhook.main.required_events
}
