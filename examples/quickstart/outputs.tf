output "space_id" {
  value = orbit_space.platform.id
}

output "cloud_webhook_url" {
  description = "Where Bitbucket Cloud repositories send their webhooks."
  value       = orbit_bitbucket_cloud_integration.platform.webhook_url
}

output "datacenter_webhook_url" {
  description = "Where Bitbucket Data Center repositories send their webhooks."
  value       = orbit_bitbucket_datacenter_integration.corp.webhook_url
}

output "cloud_webhook" {
  description = "URL, signing secret and triggers for a Bitbucket Cloud repository webhook."
  sensitive   = true
  value = {
    url             = data.orbit_integration_webhook.cloud.webhook_url
    secret          = data.orbit_integration_webhook.cloud.webhook_secret
    required_events = data.orbit_integration_webhook.cloud.required_events
  }
}

output "cloud_required_events" {
  value = data.orbit_integration_webhook.cloud.required_events
}

output "datacenter_required_events" {
  value = data.orbit_integration_webhook.datacenter.required_events
}

output "datacenter_webhook_secret" {
  description = "Signing secret Bitbucket Data Center webhooks must use."
  value       = data.orbit_integration_webhook.datacenter.webhook_secret
  sensitive   = true
}

output "repository_webhooks" {
  description = "Hook id per repository, as Bitbucket knows it."
  value = merge(
    { for slug, h in orbit_bitbucket_repository_webhook.cloud : "cloud:${h.namespace}/${slug}" => h.hook_id },
    { for slug, h in orbit_bitbucket_repository_webhook.datacenter : "datacenter:${h.namespace}/${slug}" => h.hook_id },
  )
}
