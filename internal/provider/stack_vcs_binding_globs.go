package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// additional_project_globs of orbit_stack_vcs_binding (issue 25): checked at plan
// time by the rule orbit-server applies (internal/vcsname).

func projectGlobsAttribute() schema.SetAttribute {
	return schema.SetAttribute{
		MarkdownDescription: fmt.Sprintf("Extra paths whose changes run the stack, as globs relative to the repository root "+
			"(`modules/**`, `shared/*.tf`: `*` within a path segment, `**` across segments, `?`, `[abc]`, `{a,b}`; "+
			"no leading `/`, no `.` or `..` segments, no backslash), at most %d. Defaults to none.",
			vcsname.MaxProjectGlobs),
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{})),
		Validators: []validator.Set{
			setvalidator.SizeAtMost(vcsname.MaxProjectGlobs),
			setvalidator.ValueStringsAre(checkedString{description: vcsname.ProjectGlobRule, check: vcsname.CheckProjectGlob}),
		},
	}
}

func projectGlobsValue(globs []string) types.Set {
	values := make([]attr.Value, 0, len(globs))
	for _, g := range globs {
		values = append(values, types.StringValue(g))
	}
	return types.SetValueMust(types.StringType, values)
}

func projectGlobsOf(ctx context.Context, l types.Set) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	_ = l.ElementsAs(ctx, &out, false) // a set of strings, by the schema
	return out
}
