# Exactly one of id, name or default selects the integration.
data "orbit_bitbucket_datacenter_integration" "default" {
  default = true
}

output "datacenter_webhook_url" {
  value = data.orbit_bitbucket_datacenter_integration.default.webhook_url
}
