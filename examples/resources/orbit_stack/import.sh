# A stack is imported by its id.
terraform import orbit_stack.network network-01hzx3k4m5n6p7q8r9s0t1v2w3
