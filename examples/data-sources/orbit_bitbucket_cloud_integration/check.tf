# A health check: Terraform warns at every plan and apply when the integration
# received deliveries in the last 24 hours and every one of them failed (no stack
# bound to the repository through this integration, or a delivery Orbit could not
# read). A quiet day (no delivery at all) passes.
check "cloud_deliveries_healthy" {
  data "orbit_bitbucket_cloud_integration" "health" {
    name = "main-cloud"
  }

  assert {
    condition = (
      data.orbit_bitbucket_cloud_integration.health.recent_deliveries.total == 0 ||
      data.orbit_bitbucket_cloud_integration.health.recent_deliveries.failed < data.orbit_bitbucket_cloud_integration.health.recent_deliveries.total
    )
    error_message = "Every delivery main-cloud received in the last 24 hours failed: read its delivery log (GET /api/v1/integrations/{id}/deliveries) for the decisions."
  }
}
