package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// What the sandbox knows of a repository's git history: the commits the control API's
// events carried (with the files each one adds or changes), the branch heads, and the
// pull requests. Branches, default branches and both products' change listings
// (Cloud diffstat, Data Center changes) are answered from it.

// commitInfo is one commit an event carried. Files are as the control API gave them:
// "path" for a path the commit adds or changes, "old -> new" for a rename.
type commitInfo struct {
	Hash    string
	Parent  string
	Message string
	Files   []string
	Date    time.Time
}

// prRecord is a pull request as its last event described it.
type prRecord struct {
	SourceBranch, SourceCommit           string
	DestinationBranch, DestinationCommit string
	// Commits are the pull request's own commits, oldest first.
	Commits []string
}

type history struct {
	commits  map[string]*commitInfo
	branches map[string]string // branch name → head commit
	prs      map[int]*prRecord
}

// newHistory starts a repository with one commit on its main branch: Bitbucket
// repositories that the sandbox serves are never empty.
func newHistory(repoKey, mainBranch string, at time.Time) history {
	sum := sha256.Sum256([]byte("initial:" + repoKey))
	initial := hex.EncodeToString(sum[:20])
	return history{
		commits:  map[string]*commitInfo{initial: {Hash: initial, Message: "Initial commit", Date: at}},
		branches: map[string]string{mainBranch: initial},
		prs:      map[int]*prRecord{},
	}
}

// ensureBranch gives a (re-seeded) main branch a head when it has none yet.
func (h *history) ensureBranch(repoKey, branch string, at time.Time) {
	if h.branches[branch] != "" {
		return
	}
	fresh := newHistory(repoKey+"@"+branch, branch, at)
	for hash, c := range fresh.commits {
		h.commits[hash] = c
	}
	h.branches[branch] = fresh.branches[branch]
}

// resolve turns a full or short hash, or a branch name, into a known commit.
func (h *history) resolve(rev string) (*commitInfo, bool) {
	if c, ok := h.commits[rev]; ok {
		return c, true
	}
	if head, ok := h.branches[rev]; ok {
		return h.commits[head], true
	}
	if len(rev) >= 7 {
		for hash, c := range h.commits {
			if strings.HasPrefix(hash, rev) {
				return c, true
			}
		}
	}
	return nil, false
}

// recordCommits stores commits (oldest first) on top of parent and returns the new head.
func (h *history) recordCommits(parent string, commits []Commit, at time.Time) string {
	for _, c := range commits {
		if _, ok := h.commits[c.Hash]; !ok {
			h.commits[c.Hash] = &commitInfo{Hash: c.Hash, Parent: parent, Message: c.Message, Files: slices.Clone(c.Files), Date: at}
		}
		parent = c.Hash
	}
	return parent
}

// recordPush moves branch to the last of commits. A push that names no old head starts
// the branch from the main branch, as a new branch is cut from it.
func (h *history) recordPush(branch, oldHash, mainBranch string, commits []Commit, at time.Time) {
	parent := oldHash
	if parent == "" {
		parent = h.branches[branch]
		if parent == "" {
			parent = h.branches[mainBranch]
		}
	}
	h.branches[branch] = h.recordCommits(parent, commits, at)
}

// recordPR stores a pull request; its commits (oldest first) sit on the destination commit.
func (h *history) recordPR(p PullRequest, commits []Commit, at time.Time) {
	rec := h.prs[p.ID]
	if rec == nil {
		rec = &prRecord{}
		h.prs[p.ID] = rec
	}
	if _, ok := h.commits[p.DestinationCommit]; !ok {
		h.commits[p.DestinationCommit] = &commitInfo{Hash: p.DestinationCommit, Parent: h.branches[p.DestinationBranch], Date: at}
	}
	if len(commits) > 0 {
		parent := p.DestinationCommit
		if n := len(rec.Commits); n > 0 {
			parent = rec.Commits[n-1]
		}
		h.recordCommits(parent, commits, at)
		for _, c := range commits {
			if !slices.Contains(rec.Commits, c.Hash) {
				rec.Commits = append(rec.Commits, c.Hash)
			}
		}
	} else if _, ok := h.commits[p.SourceCommit]; !ok {
		h.commits[p.SourceCommit] = &commitInfo{Hash: p.SourceCommit, Parent: p.DestinationCommit, Date: at}
	}
	rec.SourceBranch, rec.SourceCommit = p.SourceBranch, p.SourceCommit
	rec.DestinationBranch, rec.DestinationCommit = p.DestinationBranch, p.DestinationCommit
	h.branches[p.SourceBranch] = p.SourceCommit
}

// fileChange is one path of a change listing.
type fileChange struct {
	Path    string
	OldPath string // a rename's source
	Status  string // added, modified or renamed (Cloud's words)
}

// ancestors is every commit reachable from hash, itself included.
func (h *history) ancestors(hash string) map[string]bool {
	seen := map[string]bool{}
	for hash != "" && !seen[hash] {
		seen[hash] = true
		c := h.commits[hash]
		if c == nil {
			break
		}
		hash = c.Parent
	}
	return seen
}

// between lists the commits reachable from newHash and not from oldHash, oldest first.
func (h *history) between(newHash, oldHash string) []*commitInfo {
	base := h.ancestors(oldHash)
	var out []*commitInfo
	for hash := newHash; hash != "" && !base[hash]; {
		c := h.commits[hash]
		if c == nil {
			break
		}
		out = append(out, c)
		hash = c.Parent
	}
	slices.Reverse(out)
	return out
}

// changes is the union of the files of commits (oldest first), against what existed
// at base: a path no ancestor of base touched is added, a rename keeps its source.
func (h *history) changes(commits []*commitInfo, base string) []fileChange {
	existed := map[string]bool{}
	for hash := range h.ancestors(base) {
		if c := h.commits[hash]; c != nil {
			for _, f := range c.Files {
				if from, to, ok := strings.Cut(f, " -> "); ok {
					existed[strings.TrimSpace(from)], existed[strings.TrimSpace(to)] = true, true
				} else {
					existed[f] = true
				}
			}
		}
	}
	var order []string
	byPath := map[string]*fileChange{}
	for _, c := range commits {
		for _, f := range c.Files {
			from, to, renamed := strings.Cut(f, " -> ")
			if !renamed {
				if byPath[f] == nil {
					status := "modified"
					if !existed[f] {
						status = "added"
					}
					byPath[f] = &fileChange{Path: f, Status: status}
					order = append(order, f)
				}
				continue
			}
			from, to = strings.TrimSpace(from), strings.TrimSpace(to)
			change := &fileChange{Path: to, OldPath: from, Status: "renamed"}
			if prev := byPath[from]; prev != nil { // renamed within the range
				delete(byPath, from)
				order = slices.DeleteFunc(order, func(p string) bool { return p == from })
				if prev.Status == "added" {
					change = &fileChange{Path: to, Status: "added"}
				} else if prev.OldPath != "" {
					change.OldPath = prev.OldPath
				}
			}
			byPath[to] = change
			order = append(order, to)
		}
	}
	out := make([]fileChange, 0, len(order))
	for _, p := range order {
		out = append(out, *byPath[p])
	}
	return out
}
