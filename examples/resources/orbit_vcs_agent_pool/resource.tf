# The agents inside the company network that reach Bitbucket Data Center.
resource "orbit_vcs_agent_pool" "corp" {
  name        = "corp-dc"
  space_id    = "platform-k3v9q2m7xa"
  description = "orbit-vcs-agent in the corp Kubernetes cluster"
}

# orbit-server reaches this Data Center only through the pool's agents.
resource "orbit_bitbucket_datacenter_integration" "corp" {
  name                    = "corp-dc"
  space_id                = orbit_vcs_agent_pool.corp.space_id
  api_host                = "private://${orbit_vcs_agent_pool.corp.name}"
  user_facing_host        = "https://bitbucket.corp.example.com"
  username                = "svc-orbit"
  access_token_wo         = var.bitbucket_dc_token
  access_token_wo_version = 1
}

variable "bitbucket_dc_token" {
  type      = string
  sensitive = true
  ephemeral = true
}
