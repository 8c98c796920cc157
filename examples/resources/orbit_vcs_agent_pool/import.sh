# A VCS agent pool is imported by its id.
terraform import orbit_vcs_agent_pool.corp corp-dc-p4w8c2n6zr
