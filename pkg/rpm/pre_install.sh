# The group whose members may attach to the service's socket (the unit's SupplementaryGroups=
# and --socket-group).
getent group wallwatch >/dev/null || groupadd --system wallwatch
