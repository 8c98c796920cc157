# Bitbucket Cloud: every repository of a workspace, optionally narrowed to a project
# and by a Bitbucket query.
data "orbit_bitbucket_repositories" "services" {
  workspace   = "acme"
  project_key = "PLAT"
  query       = "name ~ \"service\""
}

# Bitbucket Data Center: every repository of a project.
data "orbit_bitbucket_repositories" "corp" {
  project_key = "PLAT"
}

output "service_slugs" {
  value = [for r in data.orbit_bitbucket_repositories.services.repositories : r.slug]
}
