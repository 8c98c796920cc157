package vcsagent

// TokenEnv is the environment variable orbit-vcs-agent reads its pool token from
// (or --token-file): never a command-line argument, where ps shows it.
const TokenEnv = "ORBIT_VCS_AGENT_TOKEN"
