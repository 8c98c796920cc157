terraform {
  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

# endpoint and api_key may also come from ORBIT_ENDPOINT and ORBIT_API_KEY.
provider "orbit" {
  endpoint = "https://orbit.example.com"
  api_key  = var.orbit_api_key
}

variable "orbit_api_key" {
  type      = string
  sensitive = true
}
