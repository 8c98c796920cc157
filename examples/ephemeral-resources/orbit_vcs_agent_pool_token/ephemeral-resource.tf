data "orbit_vcs_agent_pool" "corp" {
  name = "corp-dc"
}

# Issued on every plan and apply, never written to state or plan files
# (Terraform >= 1.10). A token no agent received expires after expires_in.
ephemeral "orbit_vcs_agent_pool_token" "agent" {
  pool_id     = data.orbit_vcs_agent_pool.corp.id
  description = "orbit-vcs-agent in the corp cluster"
  expires_in  = "720h"
}
