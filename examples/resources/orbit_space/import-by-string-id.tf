# Terraform 1.5 and later: an import block, planned and applied like any change.
# `terraform plan -generate-config-out=generated.tf` writes the resource block for you.
import {
  to = orbit_space.platform
  id = "platform-k3v9q2m7xa"
}
