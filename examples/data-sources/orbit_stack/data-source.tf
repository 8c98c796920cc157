# By id.
data "orbit_stack" "network" {
  id = "network-p4w8c2n6zr"
}

# By name within a space.
data "orbit_stack" "app" {
  name     = "app"
  space_id = "platform-k3v9q2m7xa"
}

# The newest run of the stack (null while it has none).
output "network_latest_run" {
  value = data.orbit_stack.network.latest_run == null ? null : {
    state  = data.orbit_stack.network.latest_run.state
    commit = data.orbit_stack.network.latest_run.commit
    page   = data.orbit_stack.network.latest_run.page_url
  }
}
