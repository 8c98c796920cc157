package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitenv"
)

// userAgent names the CLI in requests (the clients' own default names the provider).
func userAgent() string { return "orbit-cli/" + version.Get() }

func orbitClient(cfg orbitenv.Config) (*orbitapi.Client, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("set " + orbitenv.Endpoint + " to the root URL of orbit-server (for example https://orbit.example.com)")
	case cfg.APIKey == "":
		return nil, errors.New("set " + orbitenv.APIKey + " to an Orbit API key")
	}
	client, err := orbitapi.NewClient(cfg.Endpoint, cfg.APIKey, orbitapi.WithVersion(version.Get()))
	if err != nil {
		return nil, fmt.Errorf("%w (check %s)", err, orbitenv.Endpoint)
	}
	return client, nil
}

func cloudClient(cfg orbitenv.Config) (*cloud.Client, error) {
	if cfg.CloudEmail == "" || cfg.CloudAPIToken == "" {
		return nil, errors.New("reading Bitbucket Cloud needs " + orbitenv.BitbucketCloudEmail + " and " + orbitenv.BitbucketCloudAPIToken +
			" (an API token with read:repository:bitbucket and read:webhook:bitbucket; write:webhook:bitbucket for --dedupe)")
	}
	client, err := cloud.New(cloud.APIToken(cfg.CloudEmail, bitbucket.Secret(cfg.CloudAPIToken)),
		bitbucket.WithBaseURL(cfg.CloudAPIURL), bitbucket.WithUserAgent(userAgent()))
	if err != nil {
		return nil, fmt.Errorf("%w (check %s)", err, orbitenv.BitbucketCloudAPIURL)
	}
	return client, nil
}

// dataCenterClient uses BITBUCKET_DC_API_URL, else the api_host the Data Center
// integrations share (as the provider falls back to an integration's api_host).
func dataCenterClient(ctx context.Context, cfg orbitenv.Config, api *orbitapi.Client) (*datacenter.Client, error) {
	if cfg.DataCenterToken == "" {
		return nil, errors.New("reading Bitbucket Data Center needs " + orbitenv.BitbucketDCToken + " (a token with REPO_ADMIN on the repositories: webhooks are admin-only)")
	}
	baseURL := cfg.DataCenterAPIURL
	if baseURL == "" {
		integrations, err := api.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{Provider: orbitapi.ProviderBitbucketDataCenter})
		if err != nil {
			return nil, fmt.Errorf("listing Data Center integrations for their api_host: %w", err)
		}
		hosts := map[string]bool{}
		for _, in := range integrations {
			if host := orbitapi.String(in.APIHost); !strings.HasPrefix(host, "private://") && host != "" {
				hosts[host] = true
			}
		}
		if len(hosts) != 1 {
			return nil, errors.New("set " + orbitenv.BitbucketDCAPIURL + " to the Bitbucket Data Center server to read (the Data Center integrations do not name exactly one reachable api_host)")
		}
		for h := range hosts {
			baseURL = h
		}
	}
	client, err := datacenter.New(bitbucket.Secret(cfg.DataCenterToken), bitbucket.WithBaseURL(baseURL), bitbucket.WithUserAgent(userAgent()))
	if err != nil {
		return nil, fmt.Errorf("%w (check %s)", err, orbitenv.BitbucketDCAPIURL)
	}
	return client, nil
}
