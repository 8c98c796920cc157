variable "bitbucket_cloud_email" {
  description = "Atlassian account email that owns the Bitbucket Cloud API token."
  type        = string
  default     = "ci-bot@example.com"
}

variable "bitbucket_cloud_api_token" {
  description = "Bitbucket Cloud API token. Ephemeral: never written to state or plan files."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "bitbucket_cloud_api_token_version" {
  description = "Increase to send a rotated Bitbucket Cloud API token."
  type        = number
  default     = 1
}

variable "bitbucket_dc_api_host" {
  description = "Base URL of the Bitbucket Data Center REST API."
  type        = string
  default     = "https://bitbucket.example.com"
}

variable "bitbucket_dc_username" {
  description = "Bitbucket Data Center user the access token belongs to."
  type        = string
  default     = "orbit-bot"
}

variable "bitbucket_dc_access_token" {
  description = "Bitbucket Data Center HTTP access token. Ephemeral: never written to state or plan files."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "bitbucket_dc_access_token_version" {
  description = "Increase to send a rotated Bitbucket Data Center access token."
  type        = number
  default     = 1
}

variable "bitbucket_cloud_workspace" {
  description = "Bitbucket Cloud workspace whose repositories get the Cloud integration's webhook."
  type        = string
  default     = "acme"
}

variable "bitbucket_dc_project" {
  description = "Bitbucket Data Center project whose repositories get the Data Center integration's webhook."
  type        = string
  default     = "PLAT"
}
