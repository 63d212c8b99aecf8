/* SPDX-License-Identifier: MIT */
/* board_mask.h: the public wall's view of the board (issue 9 item 11). A display session gets
 * every board row through an allow-list: initials instead of the patient, where the patient
 * is and who looks after them, nothing from the chart. Isolation, allergy and ESI marks only
 * when the department's wall_shows_flags says so. New row fields stay off the wall until they
 * are added here. */
#ifndef EDLIVE_BOARD_MASK_H
#define EDLIVE_BOARD_MASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The masked copy of one board row (encounter_row_json); NULL when row is not an object. */
json_t *board_mask_row(const json_t *row, bool shows_flags);

/* The masked copy of a board (board_json): rows masked, department, beds, thresholds kept,
 * staff list dropped. */
json_t *board_mask_board(const json_t *board, bool shows_flags);

/* The masked copy of an event frame (JSON text): the envelope, and of the payload only the
 * board row (masked), beds and alert thresholds. The envelope's event kind is kept only for
 * what the wall shows anyway, else it is "encounter.updated". A new malloc'd string, *out_len its
 * length; NULL on malformed input or no memory. */
char *board_mask_event(const char *frame, size_t len, bool shows_flags, size_t *out_len);

#endif
