# A binding is imported by the id of its stack.
terraform import orbit_stack_vcs_binding.network network-p4w8c2n6zr
