package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// additional_project_globs of orbit_stack_vcs_binding (issue 25): checked at plan
// time by the rule orbit-server applies (internal/vcsname).

func projectGlobsAttribute() schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: fmt.Sprintf("Extra paths whose changes run the stack, as globs relative to the repository root "+
			"(`modules/**`, `shared/*.tf`: `*` within a path segment, `**` across segments, `?`, `[abc]`, `{a,b}`; "+
			"no leading `/`, no `.` or `..` segments, no backslash), at most %d, no repeats. Defaults to none.",
			vcsname.MaxProjectGlobs),
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
		Validators: []validator.List{
			listvalidator.SizeAtMost(vcsname.MaxProjectGlobs),
			listvalidator.UniqueValues(),
			listvalidator.ValueStringsAre(checkedString{description: vcsname.ProjectGlobRule, check: vcsname.CheckProjectGlob}),
		},
	}
}

func projectGlobsValue(globs []string) types.List {
	values := make([]attr.Value, 0, len(globs))
	for _, g := range globs {
		values = append(values, types.StringValue(g))
	}
	return types.ListValueMust(types.StringType, values)
}

func projectGlobsOf(ctx context.Context, l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	_ = l.ElementsAs(ctx, &out, false) // a list of strings, by the schema
	return out
}
