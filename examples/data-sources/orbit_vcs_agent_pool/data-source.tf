data "orbit_vcs_agent_pool" "corp" {
  name = "corp-dc"
}

# How many agents carry the pool's Bitbucket calls right now.
output "corp_agents" {
  value = data.orbit_vcs_agent_pool.corp.connected_agent_count
}
