# Exactly one of id, name or default selects the integration.
data "orbit_bitbucket_cloud_integration" "by_name" {
  name = "main-cloud"
}

data "orbit_bitbucket_cloud_integration" "default" {
  default = true
}

output "cloud_integration_space" {
  value = data.orbit_bitbucket_cloud_integration.by_name.space_id
}
