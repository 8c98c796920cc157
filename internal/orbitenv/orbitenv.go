// Package orbitenv names the environment variables the Terraform provider and the
// orbit CLI read their configuration from, and reads them, so that both follow one
// convention.
package orbitenv

import (
	"os"
	"strings"
)

// Environment variables.
const (
	Endpoint               = "ORBIT_ENDPOINT"
	APIKey                 = "ORBIT_API_KEY"
	BitbucketCloudAPIURL   = "BITBUCKET_CLOUD_API_URL"
	BitbucketCloudEmail    = "BITBUCKET_CLOUD_EMAIL"
	BitbucketCloudAPIToken = "BITBUCKET_CLOUD_API_TOKEN"
	BitbucketDCAPIURL      = "BITBUCKET_DC_API_URL"
	BitbucketDCToken       = "BITBUCKET_DC_TOKEN"

	// DefaultBitbucketCloudAPIURL is used when BITBUCKET_CLOUD_API_URL is not set.
	DefaultBitbucketCloudAPIURL = "https://api.bitbucket.org"
)

// Config is the whole configuration the environment gives. Empty fields were not set.
type Config struct {
	Endpoint string
	APIKey   string

	CloudAPIURL   string // never empty: DefaultBitbucketCloudAPIURL when unset
	CloudEmail    string
	CloudAPIToken string

	DataCenterAPIURL string
	DataCenterToken  string
}

// Load reads Config from the environment.
func Load() Config {
	return LoadFrom(os.Getenv)
}

// LoadFrom reads Config through getenv (os.Getenv, or a map in tests). Surrounding
// white space, as a copied value often has, is dropped.
func LoadFrom(getenv func(string) string) Config {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		Endpoint:         get(Endpoint),
		APIKey:           get(APIKey),
		CloudAPIURL:      get(BitbucketCloudAPIURL),
		CloudEmail:       get(BitbucketCloudEmail),
		CloudAPIToken:    get(BitbucketCloudAPIToken),
		DataCenterAPIURL: get(BitbucketDCAPIURL),
		DataCenterToken:  get(BitbucketDCToken),
	}
	if c.CloudAPIURL == "" {
		c.CloudAPIURL = DefaultBitbucketCloudAPIURL
	}
	return c
}
