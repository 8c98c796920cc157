package provider

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// bitbucketClients builds the Bitbucket clients of the provider's bitbucket_cloud and
// bitbucket_datacenter blocks on first use: only the Bitbucket-facing types need them,
// so a configuration without those types needs neither block.
type bitbucketClients struct {
	version string
	// http is the provider's HTTP client (newHTTPClient), shared by every client.
	http *http.Client

	mu         sync.Mutex
	cloud      *cloud.Client
	dataCenter map[string]*datacenter.Client // by base URL
}

const cloudBlockAdvice = "Set email and api_token in the orbit provider's bitbucket_cloud block (api_url is optional), or the " +
	envBitbucketCloudEmail + " and " + envBitbucketCloudAPIToken + " environment variables (and " + envBitbucketCloudAPIURL + ")."

const dataCenterBlockAdvice = "Set token (and api_url when needed) in the orbit provider's bitbucket_datacenter block, or the " +
	envBitbucketDCToken + " and " + envBitbucketDCAPIURL + " environment variables."

// cloudClient is the Bitbucket Cloud client of the bitbucket_cloud block.
func (pd *providerData) cloudClient(diags *diag.Diagnostics) *cloud.Client {
	creds := pd.bitbucketCloud
	if creds.Email == "" || creds.APIToken == "" {
		diags.AddError("Bitbucket Cloud credentials not configured",
			"Managing Bitbucket Cloud repository webhooks and listing repositories talks to Bitbucket directly, with repository-admin credentials of your own. "+cloudBlockAdvice)
		return nil
	}
	b := pd.bitbucket
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cloud != nil {
		return b.cloud
	}
	client, err := cloud.New(cloud.APIToken(creds.Email, bitbucket.Secret(creds.APIToken)),
		bitbucket.WithBaseURL(creds.APIURL), bitbucket.WithUserAgent(bitbucket.UserAgent(b.version)), bitbucket.WithHTTPClient(b.http))
	if err != nil {
		diags.AddError("Invalid bitbucket_cloud configuration", err.Error()+". "+cloudBlockAdvice)
		return nil
	}
	b.cloud = client
	return client
}

// dataCenterBaseURL is the bitbucket_datacenter block's api_url, else the
// integration's api_host when Terraform can reach it.
func (pd *providerData) dataCenterBaseURL(in *orbitapi.Integration) (string, error) {
	if pd.bitbucketDataCenter.APIURL != "" {
		return pd.bitbucketDataCenter.APIURL, nil
	}
	if in == nil {
		return "", errors.New("no api_url is configured and the integration is not available to take its api_host from")
	}
	if strings.HasPrefix(orbitapi.String(in.APIHost), "private://") {
		return "", fmt.Errorf("integration %q reaches Bitbucket through a private worker pool (api_host %s), which Terraform cannot use; set api_url to an address of the Bitbucket server this machine can reach", in.Name, orbitapi.String(in.APIHost))
	}
	if orbitapi.String(in.APIHost) == "" {
		return "", fmt.Errorf("integration %q has no api_host", in.Name)
	}
	return orbitapi.String(in.APIHost), nil
}

// dataCenterClient is the Bitbucket Data Center client of the bitbucket_datacenter
// block for the server of integration in (see dataCenterBaseURL).
func (pd *providerData) dataCenterClient(in *orbitapi.Integration, diags *diag.Diagnostics) *datacenter.Client {
	creds := pd.bitbucketDataCenter
	if creds.Token == "" {
		diags.AddError("Bitbucket Data Center credentials not configured",
			"Managing Bitbucket Data Center repository webhooks and listing repositories talks to Bitbucket directly, with a token of your own. "+dataCenterBlockAdvice)
		return nil
	}
	baseURL, err := pd.dataCenterBaseURL(in)
	if err != nil {
		diags.AddError("Bitbucket Data Center api_url needed", err.Error()+". "+dataCenterBlockAdvice)
		return nil
	}
	b := pd.bitbucket
	b.mu.Lock()
	defer b.mu.Unlock()
	if client := b.dataCenter[baseURL]; client != nil {
		return client
	}
	client, err := datacenter.New(bitbucket.Secret(creds.Token),
		bitbucket.WithBaseURL(baseURL), bitbucket.WithUserAgent(bitbucket.UserAgent(b.version)), bitbucket.WithHTTPClient(b.http))
	if err != nil {
		diags.AddError("Invalid bitbucket_datacenter configuration", err.Error()+". "+dataCenterBlockAdvice)
		return nil
	}
	if b.dataCenter == nil {
		b.dataCenter = map[string]*datacenter.Client{}
	}
	b.dataCenter[baseURL] = client
	return client
}

// addBitbucketError turns a Bitbucket error into one diagnostic that names the
// repository (or workspace/project) and, for a refusal, the permission that is missing.
func addBitbucketError(diags *diag.Diagnostics, product bitbucket.Product, action, where string, err error) {
	apiErr, ok := bitbucket.AsAPIError(err)
	switch {
	case !ok:
		diags.AddError("Could not "+action+" in Bitbucket", fmt.Sprintf("%s: %s", where, err))
	case product == bitbucket.ProductCloud && apiErr.StatusCode == http.StatusForbidden:
		diags.AddError("Bitbucket Cloud permission missing",
			fmt.Sprintf("Bitbucket Cloud refused to %s on %s: the API token of the bitbucket_cloud block lacks the webhook permission "+
				"(API token scopes read:webhook:bitbucket and write:webhook:bitbucket, or admin on the repository). Bitbucket said: %s", action, where, apiErr.Message))
	case product == bitbucket.ProductCloud && apiErr.StatusCode == http.StatusUnauthorized:
		diags.AddError("Bitbucket Cloud rejected the credentials",
			fmt.Sprintf("Bitbucket Cloud did not accept the email and API token of the bitbucket_cloud block while trying to %s on %s (%s). %s", action, where, apiErr.Message, cloudBlockAdvice))
	case product == bitbucket.ProductDataCenter && apiErr.StatusCode == http.StatusUnauthorized && strings.HasSuffix(apiErr.Exception, "AuthorisationException"),
		product == bitbucket.ProductDataCenter && apiErr.StatusCode == http.StatusForbidden:
		diags.AddError("Bitbucket Data Center permission missing",
			fmt.Sprintf("Bitbucket Data Center refused to %s on %s: the token of the bitbucket_datacenter block lacks REPO_ADMIN on that repository "+
				"(webhooks need repository admin; grant REPO_ADMIN, PROJECT_ADMIN or use a project/repository token with admin permission). Bitbucket said: %s", action, where, apiErr.Message))
	case product == bitbucket.ProductDataCenter && apiErr.StatusCode == http.StatusUnauthorized:
		diags.AddError("Bitbucket Data Center rejected the token",
			fmt.Sprintf("Bitbucket Data Center did not accept the token of the bitbucket_datacenter block while trying to %s on %s (%s). %s", action, where, apiErr.Message, dataCenterBlockAdvice))
	case apiErr.StatusCode == http.StatusNotFound:
		diags.AddError("Bitbucket repository not found",
			fmt.Sprintf("Could not %s: %s does not exist or the credentials cannot see it (%s).", action, where, apiErr.Message))
	default:
		diags.AddError("Could not "+action+" in Bitbucket", fmt.Sprintf("%s: %s", where, err))
	}
}
