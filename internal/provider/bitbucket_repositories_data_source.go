package provider

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSourceWithConfigure        = (*repositoriesDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*repositoriesDataSource)(nil)
)

// NewRepositoriesDataSource is the orbit_bitbucket_repositories data source.
func NewRepositoriesDataSource() datasource.DataSource { return &repositoriesDataSource{} }

type repositoriesDataSource struct {
	data *providerData
}

type repositoriesModel struct {
	Workspace     types.String `tfsdk:"workspace"`
	ProjectKey    types.String `tfsdk:"project_key"`
	Query         types.String `tfsdk:"query"`
	IntegrationID types.String `tfsdk:"integration_id"`
	Repositories  types.List   `tfsdk:"repositories"`
}

var repositoryObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"namespace":   types.StringType,
	"slug":        types.StringType,
	"name":        types.StringType,
	"main_branch": types.StringType,
	"html_url":    types.StringType,
}}

func (d *repositoriesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_repositories"
}

func (d *repositoriesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every repository of a Bitbucket Cloud workspace (optionally narrowed to a project or by a Bitbucket query) or of a Bitbucket Data Center project, " +
			"read with the provider's `bitbucket_cloud` or `bitbucket_datacenter` credentials, all pages, ordered by slug. " +
			"Use it with `for_each` to install `orbit_bitbucket_repository_webhook` on each repository.\n\n" +
			"**Bitbucket permissions:** read access to the repositories (Cloud API token scope `read:repository:bitbucket`; Data Center REPO_READ or PROJECT_READ). " +
			"Only the repositories the credentials can see are listed.\n\n" +
			"**Rate limit:** Bitbucket Cloud limits API use (webhook endpoints to about 1,000 requests an hour); a listing costs one request per 100 repositories. " +
			"A Data Center listing also reads each repository's default branch: one more request per repository, " + strconv.Itoa(defaultBranchReads) + " at a time.",
		Attributes: map[string]schema.Attribute{
			"workspace": schema.StringAttribute{
				MarkdownDescription: "Bitbucket Cloud workspace slug. Set it to list a Cloud workspace; leave it out for Data Center.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(namespacePattern, "must be a workspace slug")},
			},
			"project_key": schema.StringAttribute{
				MarkdownDescription: "Project key. With `workspace`: only that Cloud project's repositories. Without: the Bitbucket Data Center project to list.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(namespacePattern, "must be a project key")},
			},
			"query": schema.StringAttribute{
				MarkdownDescription: "Bitbucket Cloud filter (`q`), for example `name ~ \"service\"`. Cloud only.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1), stringvalidator.AlsoRequires(path.MatchRoot("workspace"))},
			},
			"integration_id": schema.StringAttribute{
				MarkdownDescription: "Data Center only: an integration whose `api_host` is the server to list, used when the provider's `bitbucket_datacenter` block has no `api_url`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"repositories": schema.ListNestedAttribute{
				MarkdownDescription: "The repositories, ordered by slug.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"namespace":   schema.StringAttribute{MarkdownDescription: "Workspace slug (Cloud) or project key (Data Center): the webhook's `namespace`.", Computed: true},
					"slug":        schema.StringAttribute{MarkdownDescription: "Repository slug: the webhook's `repository`.", Computed: true},
					"name":        schema.StringAttribute{MarkdownDescription: "Display name.", Computed: true},
					"main_branch": schema.StringAttribute{MarkdownDescription: "Main branch: the repository's main branch (Cloud) or default branch (Data Center, read for each repository, which costs one request per repository). Empty for an empty repository (Data Center answers 404 for its default branch).", Computed: true},
					"html_url":    schema.StringAttribute{MarkdownDescription: "The repository's page in the Bitbucket web interface.", Computed: true},
				}},
			},
		},
	}
}

func (d *repositoriesDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("workspace"), path.MatchRoot("project_key")),
		datasourcevalidator.Conflicting(path.MatchRoot("workspace"), path.MatchRoot("integration_id")),
	}
}

func (d *repositoriesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

type repositoryEntry struct{ namespace, slug, name, mainBranch, htmlURL string }

func (d *repositoriesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if requireClient(d.data, &resp.Diagnostics) == nil {
		return
	}
	var config repositoriesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var entries []repositoryEntry
	if ws := config.Workspace.ValueString(); ws != "" {
		client := d.data.cloudClient(&resp.Diagnostics)
		if client == nil {
			return
		}
		repos, err := client.ListRepositories(ctx, ws, cloud.RepositoryListOptions{Query: cloudQuery(config.ProjectKey.ValueString(), config.Query.ValueString())})
		if err != nil {
			addBitbucketError(&resp.Diagnostics, bitbucket.ProductCloud, "list repositories", "workspace "+ws, err)
			return
		}
		for _, r := range repos {
			e := repositoryEntry{namespace: ws, slug: r.Slug, name: r.Name, htmlURL: r.Links.HTML.Href}
			if r.MainBranch != nil {
				e.mainBranch = r.MainBranch.Name
			}
			entries = append(entries, e)
		}
	} else {
		project := config.ProjectKey.ValueString()
		var in *orbitapi.Integration
		if id := config.IntegrationID.ValueString(); id != "" {
			var err error
			if in, err = d.data.integrations.get(ctx, id); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Could not read the integration", err.Error())
				return
			}
		}
		if in == nil && d.data.bitbucketDataCenter.APIURL == "" {
			resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Bitbucket Data Center server unknown",
				"Listing a Data Center project needs the server's address: set integration_id to an integration whose api_host Terraform can reach, or api_url in the provider's bitbucket_datacenter block (or "+envBitbucketDCAPIURL+").")
			return
		}
		client := d.data.dataCenterClient(in, &resp.Diagnostics)
		if client == nil {
			return
		}
		repos, err := client.ListRepositories(ctx, project)
		if err != nil {
			addBitbucketError(&resp.Diagnostics, bitbucket.ProductDataCenter, "list repositories", "project "+project, err)
			return
		}
		for _, r := range repos {
			entries = append(entries, repositoryEntry{namespace: project, slug: r.Slug, name: r.Name, htmlURL: r.HTMLURL()})
		}
		// Data Center's repository list does not carry the default branch.
		if i, err := fillDefaultBranches(ctx, client, entries); err != nil {
			addBitbucketError(&resp.Diagnostics, bitbucket.ProductDataCenter, "read the default branch", "repository "+project+"/"+entries[i].slug, err)
			return
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].slug < entries[j].slug })
	values := make([]attr.Value, 0, len(entries))
	for _, e := range entries {
		values = append(values, types.ObjectValueMust(repositoryObjectType.AttrTypes, map[string]attr.Value{
			"namespace":   types.StringValue(e.namespace),
			"slug":        types.StringValue(e.slug),
			"name":        types.StringValue(e.name),
			"main_branch": types.StringValue(e.mainBranch),
			"html_url":    types.StringValue(e.htmlURL),
		}))
	}
	config.Repositories = types.ListValueMust(repositoryObjectType, values)
	resp.Diagnostics.Append(resp.State.Set(ctx, &config)...)
}

// defaultBranchReads is how many Data Center default-branch reads run at once.
const defaultBranchReads = 8

// fillDefaultBranches sets mainBranch of each Data Center entry to its repository's
// default branch, defaultBranchReads requests at a time. A 404 for a listed repository
// means it has no default branch (an empty repository): mainBranch stays "". Any other
// error stops the reads and is returned with the index of its entry.
func fillDefaultBranches(ctx context.Context, client *datacenter.Client, entries []repositoryEntry) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failed   = -1
		firstErr error
	)
	fail := func(i int, err error) {
		mu.Lock()
		if firstErr == nil {
			failed, firstErr = i, err
		}
		mu.Unlock()
		cancel()
	}
	slots := make(chan struct{}, defaultBranchReads)
loop:
	for i := range entries {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			fail(i, ctx.Err())
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ref, err := client.DefaultBranch(ctx, entries[i].namespace, entries[i].slug)
			switch {
			case err == nil:
				entries[i].mainBranch = ref.DisplayID
			case bitbucket.IsNotFound(err):
			default:
				fail(i, err)
			}
		}()
	}
	wg.Wait()
	return failed, firstErr
}

// cloudQuery combines a project filter with the user's own query.
func cloudQuery(projectKey, query string) string {
	var parts []string
	if projectKey != "" {
		parts = append(parts, "project.key = "+strconv.Quote(projectKey))
	}
	if query != "" {
		parts = append(parts, "("+query+")")
	}
	return strings.Join(parts, " AND ")
}
