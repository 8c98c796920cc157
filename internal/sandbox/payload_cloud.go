package sandbox

// Bitbucket Cloud webhook payloads, built as Bitbucket Cloud sends them.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (s *Server) prepareCloud(base string, ev Event) (any, []target, error) {
	repo := s.state.cloudRepos[ev.Workspace+"/"+ev.Repository]
	if repo == nil {
		return nil, nil, fmt.Errorf("repository: no Cloud repository %s/%s", ev.Workspace, ev.Repository)
	}
	actorKey := strings.ToLower(ev.Actor)
	if actorKey == "" {
		actorKey = s.state.firstCloud
	}
	actor := s.state.cloudUsers[actorKey]
	if actor == nil {
		return nil, nil, fmt.Errorf("actor: no Cloud user %q", ev.Actor)
	}
	var targets []target
	for _, h := range repo.hooks {
		if ev.Hook != "" {
			if strings.EqualFold(h.UUID, braced(ev.Hook)) {
				targets = append(targets, target{hookID: h.UUID, url: h.URL, secret: h.Secret, insecure: h.SkipCertVerification})
			}
			continue
		}
		if h.Active && slices.Contains(h.Events, ev.Event) {
			targets = append(targets, target{hookID: h.UUID, url: h.URL, secret: h.Secret, insecure: h.SkipCertVerification})
		}
	}
	if ev.Hook != "" && len(targets) == 0 {
		return nil, nil, fmt.Errorf("hook: no hook %s on %s/%s", ev.Hook, ev.Workspace, ev.Repository)
	}
	now := time.Now().UTC()
	actorJSON := cloudActorJSON(base, actor)
	repoJSON := s.cloudRepoJSON(base, repo)
	delete(repoJSON, "mainbranch")
	repoJSON["website"] = ""
	if owner, ok := repoJSON["owner"].(map[string]any); ok {
		owner["account_id"] = uuidFrom("workspace:" + repo.Workspace)
		owner["nickname"] = repo.Workspace
		delete(owner, "username") // gone from payloads, as from every user object
	}
	// A commit's author as git recorded it: "Name <email>".
	authorRaw := fmt.Sprintf("%s <%s>", actor.DisplayName, actor.Email)
	payload := map[string]any{"actor": actorJSON, "repository": repoJSON}
	api := base + "/2.0/repositories/" + repo.Workspace + "/" + repo.Slug
	html := base + "/" + repo.Workspace + "/" + repo.Slug

	if ev.Event == "repo:push" {
		branch := ev.Branch
		if branch == "" {
			branch = repo.MainBranch
		}
		commits := ev.Commits
		if len(commits) == 0 {
			commits = []Commit{{Hash: randomHex(20), Message: "Update " + repo.Slug}}
		}
		var commitJSON []any
		parent, headParent := ev.OldHash, ""
		for _, c := range commits { // Bitbucket lists the newest commit first
			commitJSON = append([]any{cloudCommitJSON(api, html, c, parent, actorJSON, authorRaw, now)}, commitJSON...)
			headParent, parent = parent, c.Hash
			repo.knownCommits = append(repo.knownCommits, c.Hash)
			repo.rememberMessage(c.Hash, c.Message)
		}
		repo.recordPush(branch, ev.OldHash, repo.MainBranch, commits, now)
		// Bitbucket Cloud lists at most the 5 newest commits of a change and says
		// truncated when there were more (the event payload documentation).
		truncated := len(commitJSON) > cloudPushCommitLimit
		if truncated {
			commitJSON = commitJSON[:cloudPushCommitLimit]
		}
		head := commits[len(commits)-1]
		ref := func(hash, message, parent string) map[string]any {
			return map[string]any{
				"type": "branch", "name": branch,
				"links": map[string]any{
					"commits": link(api + "/commits/" + branch),
					"self":    link(api + "/refs/branches/" + branch),
					"html":    link(html + "/branch/" + branch),
				},
				"target": cloudCommitJSON(api, html, Commit{Hash: hash, Message: message}, parent, actorJSON, authorRaw, now),
			}
		}
		// The new head's target lists its parent, as in Bitbucket's payloads.
		change := map[string]any{
			"forced": false, "created": ev.OldHash == "", "closed": false, "truncated": truncated,
			"old": nil, "new": ref(head.Hash, head.Message, headParent), "commits": commitJSON,
			"links": map[string]any{
				"commits": link(api + "/commits?include=" + head.Hash),
				"html":    link(html + "/branches/compare/" + head.Hash),
			},
		}
		if ev.OldHash != "" {
			// Bitbucket's forms: commits?include=<new>&exclude=<old>, compare/<new>..<old>;
			// the old head carries its message.
			change["old"] = ref(ev.OldHash, repo.messageOf(ev.OldHash), "")
			change["links"] = map[string]any{
				"commits": link(api + "/commits?include=" + head.Hash + "&exclude=" + ev.OldHash),
				"html":    link(html + "/branches/compare/" + head.Hash + ".." + ev.OldHash),
				"diff":    link(api + "/diff/" + head.Hash + ".." + ev.OldHash),
			}
		}
		payload["push"] = map[string]any{"changes": []any{change}}
		return payload, targets, nil
	}

	if !strings.HasPrefix(ev.Event, "pullrequest:") {
		return s.cloudRepositoryEvent(base, ev, repo, payload, now), targets, nil
	}
	p, err := eventPullRequest(ev, repo.MainBranch)
	if err != nil {
		return nil, nil, err
	}
	repo.knownCommits = append(repo.knownCommits, p.SourceCommit, p.DestinationCommit)
	repo.recordPR(p, ev.Commits, now)
	repoRef := map[string]any{"type": "repository", "full_name": repo.Workspace + "/" + repo.Slug, "name": repo.Name, "uuid": repo.UUID,
		"links": map[string]any{"self": link(api), "html": link(html)}}
	side := func(branch, hash string) map[string]any {
		return map[string]any{
			"branch":     map[string]any{"name": branch},
			"commit":     map[string]any{"type": "commit", "hash": shortHash(hash), "links": map[string]any{"self": link(api + "/commit/" + shortHash(hash)), "html": link(html + "/commits/" + shortHash(hash))}},
			"repository": repoRef,
		}
	}
	prAPI := fmt.Sprintf("%s/pullrequests/%d", api, p.ID)
	state := "OPEN"
	var mergeCommit, closedBy any
	switch ev.Event {
	case "pullrequest:fulfilled":
		state, closedBy = "MERGED", actorJSON
		merge := shortHash(randomHex(20))
		mergeCommit = map[string]any{"type": "commit", "hash": merge,
			"links": map[string]any{"self": link(api + "/commit/" + merge), "html": link(html + "/commits/" + merge)}}
	case "pullrequest:rejected":
		state, closedBy = "DECLINED", actorJSON
	}
	participants := []any{}
	if ev.Event == "pullrequest:approved" {
		participants = append(participants, map[string]any{"type": "participant", "user": actorJSON, "role": "REVIEWER", "approved": true, "state": "approved", "participated_on": rfc3339(now)})
	}
	prJSON := map[string]any{
		"type": "pullrequest", "id": p.ID, "title": p.Title, "description": p.Description,
		"summary": rendered(p.Description), "state": state,
		"rendered": map[string]any{"title": rendered(p.Title), "description": rendered(p.Description)}, "author": actorJSON,
		"source": side(p.SourceBranch, p.SourceCommit), "destination": side(p.DestinationBranch, p.DestinationCommit),
		"merge_commit": mergeCommit, "close_source_branch": false, "closed_by": closedBy,
		"reason": "", "created_on": rfc3339(now), "updated_on": rfc3339(now),
		"comment_count": 0, "task_count": 0, "reviewers": []any{}, "participants": participants,
		"links": map[string]any{
			"self": link(prAPI), "html": link(fmt.Sprintf("%s/pull-requests/%d", html, p.ID)),
			"commits": link(prAPI + "/commits"), "approve": link(prAPI + "/approve"),
			"diff": link(prAPI + "/diff"), "comments": link(prAPI + "/comments"),
			"activity": link(prAPI + "/activity"), "statuses": link(prAPI + "/statuses"),
			"merge": link(prAPI + "/merge"), "decline": link(prAPI + "/decline"),
			"diffstat": link(prAPI + "/diffstat"), "request-changes": link(prAPI + "/request-changes"),
		},
	}
	payload["pullrequest"] = prJSON
	switch ev.Event {
	case "pullrequest:approved", "pullrequest:unapproved":
		payload["approval"] = map[string]any{"date": rfc3339(now), "user": actorJSON}
	case "pullrequest:changes_request_created", "pullrequest:changes_request_removed":
		payload["changes_request"] = map[string]any{"date": rfc3339(now), "user": actorJSON}
	case "pullrequest:comment_created", "pullrequest:comment_updated", "pullrequest:comment_deleted",
		"pullrequest:comment_resolved", "pullrequest:comment_reopened":
		text := ev.Comment
		if text == "" {
			text = "Looks good."
		}
		id := int(now.UnixNano() % 1_000_000_000)
		comment := map[string]any{
			"type": "pullrequest_comment", "id": id, "deleted": ev.Event == "pullrequest:comment_deleted", "content": rendered(text),
			"created_on": rfc3339(now), "updated_on": rfc3339(now), "user": actorJSON,
			"pullrequest": map[string]any{"type": "pullrequest", "id": p.ID, "title": p.Title, "links": map[string]any{"self": link(prAPI), "html": link(fmt.Sprintf("%s/pull-requests/%d", html, p.ID))}},
			"links": map[string]any{
				"self": link(fmt.Sprintf("%s/comments/%d", prAPI, id)),
				"html": link(fmt.Sprintf("%s/pull-requests/%d/_/diff#comment-%d", html, p.ID, id)),
			},
		}
		if ev.Event == "pullrequest:comment_resolved" {
			comment["resolution"] = map[string]any{"type": "comment_resolution", "user": actorJSON, "created_on": rfc3339(now)}
		}
		payload["comment"] = comment
	}
	return payload, targets, nil
}

// eventPullRequest checks the pull request of a pull request event and fills in what
// the event left out.
func eventPullRequest(ev Event, mainBranch string) (PullRequest, error) {
	pr := ev.PullRequest
	if pr == nil {
		return PullRequest{}, fmt.Errorf("pull_request: required for %s", ev.Event)
	}
	if pr.ID <= 0 {
		return PullRequest{}, fmt.Errorf("pull_request.id: a positive number is required")
	}
	p := *pr
	if p.SourceCommit == "" && len(ev.Commits) > 0 {
		p.SourceCommit = ev.Commits[len(ev.Commits)-1].Hash // the pull request's head
	}
	return fillPR(p, mainBranch), nil
}

func fillPR(p PullRequest, mainBranch string) PullRequest {
	if p.Title == "" {
		p.Title = fmt.Sprintf("Pull request #%d", p.ID)
	}
	if p.SourceBranch == "" {
		p.SourceBranch = fmt.Sprintf("feature/%d", p.ID)
	}
	if p.DestinationBranch == "" {
		p.DestinationBranch = mainBranch
	}
	if p.SourceCommit == "" {
		p.SourceCommit = randomHex(20)
	}
	if p.DestinationCommit == "" {
		p.DestinationCommit = randomHex(20)
	}
	return p
}

// shortHash is the 12-character hash Bitbucket Cloud puts in pull request payloads.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func rendered(raw string) map[string]any {
	return map[string]any{"type": "rendered", "raw": raw, "markup": "markdown", "html": "<p>" + htmlEscape(raw) + "</p>"}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// cloudActorJSON is a user as webhook payloads show it: no username (Bitbucket
// removed it from user objects), links with the percent-encoded UUID (%7B…%7D).
func cloudActorJSON(base string, u *CloudUser) map[string]any {
	return map[string]any{
		"type": "user", "uuid": u.UUID, "account_id": u.AccountID, "display_name": u.DisplayName,
		"nickname": u.Nickname,
		"links": map[string]any{
			"self":   link(base + "/2.0/users/" + url.PathEscape(u.UUID)),
			"html":   link(base + "/" + url.PathEscape(u.UUID) + "/"),
			"avatar": link(base + "/account/" + url.PathEscape(u.Nickname) + "/avatar/32/"),
		},
	}
}

func cloudCommitJSON(api, html string, c Commit, parent string, actor map[string]any, authorRaw string, at time.Time) map[string]any {
	message := c.Message
	if message != "" && !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	parents := []any{}
	if parent != "" {
		parents = append(parents, map[string]any{"type": "commit", "hash": parent,
			"links": map[string]any{"self": link(api + "/commit/" + parent), "html": link(html + "/commits/" + parent)}})
	}
	return map[string]any{
		"type": "commit", "hash": c.Hash, "message": message, "summary": rendered(message),
		"date": at.Format("2006-01-02T15:04:05+00:00"), "parents": parents,
		"author": map[string]any{"type": "author", "raw": authorRaw, "user": actor},
		"links": map[string]any{
			"self": link(api + "/commit/" + c.Hash), "html": link(html + "/commits/" + c.Hash),
			"diff": link(api + "/diff/" + c.Hash), "patch": link(api + "/patch/" + c.Hash),
			"comments": link(api + "/commit/" + c.Hash + "/comments"),
			"approve":  link(api + "/commit/" + c.Hash + "/approve"),
			"statuses": link(api + "/commit/" + c.Hash + "/statuses"),
		},
	}
}
