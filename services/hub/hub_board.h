/* SPDX-License-Identifier: MIT */
/* hub_board.h: the pure step of ed-hub's board model (hub_board.c): one event applied to a
 * department's board as the hub holds it. The same rules as the pages' web/js/board_model.js;
 * both are checked against proto/fixtures/board_events.json. */
#ifndef EDLIVE_HUB_BOARD_H
#define EDLIVE_HUB_BOARD_H

#include <jansson.h>
#include <stdbool.h>

/* Applies event (a hub event frame: {type, topic, department_id, seq, encounter_id, version, event,
 * at, payload}, as event_frame() encodes it) to board (a board_json() object with
 * "seq"), in place, for the department department_id: the event's row replaces the board's or
 * leaves it (no other row changes: another row's similar_name comes in its own event), its beds
 * replace the board's by id, its alert_thresholds the board's, its lwbs_today (encounter.reopened)
 * the board's; board.seq becomes the event's. An event at or below board.seq changes nothing. False
 * when the event says too little for an exact result (a kind without a row, beds or thresholds, a
 * bed the board does not hold, a patient leaving without being seen: the LWBS count is by the
 * department's local day): the board is then partly changed, and only a fresh read from PostgreSQL
 * may replace it. */
bool hub_board_apply(json_t *board, long long department_id, const json_t *event);

#endif
