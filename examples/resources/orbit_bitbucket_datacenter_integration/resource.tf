variable "bitbucket_dc_access_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

# A default integration lives in the root space; there is one per provider type.
resource "orbit_bitbucket_datacenter_integration" "default" {
  name                    = "corp-bitbucket"
  is_default              = true
  api_host                = "https://bitbucket.example.com"
  user_facing_host        = "https://bitbucket.example.com"
  username                = "orbit-bot"
  access_token_wo         = var.bitbucket_dc_access_token
  access_token_wo_version = 1
  use_git_checkout        = false
  labels                  = ["vcs:datacenter"]
  vcs_checks              = "individual"
}
