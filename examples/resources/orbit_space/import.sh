# A space is imported by its id.
terraform import orbit_space.platform platform-01hzx3k4m5n6p7q8r9s0t1v2w3
