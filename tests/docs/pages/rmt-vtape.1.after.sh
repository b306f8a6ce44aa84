# Two archives on the tape, one file each: src, then doc.
rmt-vtape list /srv/tapes/t1.tap >list.out
grep -q '^file 0: [1-9]' list.out || fatal "no first archive: $(cat list.out)"
grep -q '^file 1: [1-9]' list.out || fatal "no second archive: $(cat list.out)"
