package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitenv"
)

// whoami prints the key orbit-server sees and its roles, and the Bitbucket Cloud
// account the credentials authenticate as.
func whoami(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("orbit whoami", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usagef("%s", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg := orbitenv.LoadFrom(e.getenv)
	api, err := orbitClient(cfg)
	if err != nil {
		return err
	}
	who, err := api.Whoami(ctx)
	if err != nil {
		return fmt.Errorf("asking %s who this key is: %w", api.Endpoint(), err)
	}
	fmt.Fprintf(e.stdout, "orbit-server %s\nAPI key %s (%s)\n\n", api.Endpoint(), who.ID, who.Name)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SPACE\tNAME\tROLE")
	for _, sp := range who.Spaces {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sp.SpaceID, sp.Name, sp.Role)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	if cfg.CloudEmail == "" || cfg.CloudAPIToken == "" {
		fmt.Fprintf(e.stdout, "Bitbucket Cloud: not configured (%s, %s)\n", orbitenv.BitbucketCloudEmail, orbitenv.BitbucketCloudAPIToken)
	} else {
		client, err := cloudClient(cfg)
		if err != nil {
			return err
		}
		user, err := client.CurrentUser(ctx)
		if err != nil {
			return fmt.Errorf("asking Bitbucket Cloud (%s) who %s is: %w", cfg.CloudAPIURL, cfg.CloudEmail, err)
		}
		fmt.Fprintf(e.stdout, "Bitbucket Cloud %s: %s (%s)\n", cfg.CloudAPIURL, user.DisplayName, cfg.CloudEmail)
	}
	if cfg.DataCenterToken == "" {
		fmt.Fprintf(e.stdout, "Bitbucket Data Center: not configured (%s, %s)\n", orbitenv.BitbucketDCToken, orbitenv.BitbucketDCAPIURL)
	} else {
		where := cfg.DataCenterAPIURL
		if where == "" {
			where = "the api_host of the Data Center integration"
		}
		fmt.Fprintf(e.stdout, "Bitbucket Data Center %s: token configured\n", where)
	}
	return nil
}
