data "orbit_bitbucket_cloud_integration" "main" {
  name = "main-cloud"
}

# Opened on every plan and apply and never written to state or plan files
# (Terraform >= 1.10). Its values can feed write-only attributes and provider
# configuration blocks.
ephemeral "orbit_integration_webhook" "main" {
  integration_id = data.orbit_bitbucket_cloud_integration.main.id
}
