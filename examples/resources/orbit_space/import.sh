# A space is imported by its id: the name's slug, a dash and ten random characters,
# as orbit-server makes it (GET /api/v1/spaces?name=platform shows it).
terraform import orbit_space.platform platform-k3v9q2m7xa
