# A stack is imported by its id.
terraform import orbit_stack.network network-p4w8c2n6zr
