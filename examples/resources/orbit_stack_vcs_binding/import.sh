# A binding is imported by the id of its stack.
terraform import orbit_stack_vcs_binding.network network-01hzx3k4m5n6p7q8r9s0t1v2w3
