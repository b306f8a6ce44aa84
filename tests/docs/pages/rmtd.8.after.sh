# The archives are where the examples put them: tar's on monday.tap, dump's on vt1.
rmt-vtape list /srv/tapes/monday.tap | grep -q '^file 0: [1-9]' || fatal "no archive on monday.tap"
rmt-vtape list /srv/tapes/vt1.tap | grep -q '^file 0: [1-9]' || fatal "no dump on vt1"
