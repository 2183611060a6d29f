/* Copyright EMPI developers.

   EMPI from C (empi/c.h): link two feeds as a nightly batch job would,
   then open the index and ask what a front desk asks: who is this patient,
   and may their shared record be shown?

     c_example WORK_DIR

   Writes a small feed and a store under WORK_DIR. Exits 0 when every answer
   is the expected one, 1 otherwise, 74 on an EMPI error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "empi/c.h"

static int Fail(char* err) {
  fprintf(stderr, "c_example: %s\n", err);
  empi_free(err);
  return 74;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: c_example WORK_DIR\n");
    return 64;
  }
  char feed[4096], db[4096];
  snprintf(feed, sizeof feed, "%s/feed.csv", argv[1]);
  snprintf(db, sizeof db, "%s/db", argv[1]);
  FILE* f = fopen(feed, "w");
  if (f == NULL) return 74;
  fputs("source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n"
        "M84001,G1,9434765919,Nowak,Anna,1984-03-07,F,CV1 2AB,\n"
        "RKB,K1,9434765919,Nowak,Anna,1984-03-07,F,CV1 2AB,\n",
        f);
  fclose(f);

  char* err = NULL;
  const char* feeds[] = {feed};
  empi_link_summary_t* summary = empi_link_feeds(NULL, db, feeds, 1, NULL, NULL, &err);
  if (summary == NULL) return Fail(err);
  unsigned long long records = empi_link_summary_get(summary, "records_total", NULL);
  printf("link: %llu records\n", records);
  empi_link_summary_destroy(summary);

  empi_options_t* options = empi_options_create();
  empi_options_set_today(options, "2026-01-01");
  empi_engine_t* engine = empi_open(options, db, &err);
  empi_options_destroy(options);
  if (engine == NULL) return Fail(err);
  empi_requester_t* who = empi_requester_create("front-desk", "RKB", "receptionist", "direct-care");

  int ok = records == 2;
  empi_resolution_t* r = empi_resolve(engine, "RKB", "K1", who, &err);
  if (err != NULL) return Fail(err);
  if (r == NULL) {
    ok = 0;
  } else {
    unsigned long long person = empi_resolution_person_id(r);
    char* reason = NULL;
    unsigned char allowed = empi_may_assemble_view(engine, person, who, &reason, &err);
    if (err != NULL) return Fail(err);
    printf("person %llu: %zu records; view %s (%s)\n", person, empi_resolution_record_count(r),
           allowed ? "allowed" : "denied", reason);
    ok = ok && strcmp(reason, "objection") != 0;
    empi_free(reason);
    empi_resolution_destroy(r);
  }

  empi_requester_destroy(who);
  empi_close(engine);
  printf("%s\n", ok ? "ok" : "UNEXPECTED");
  return ok ? 0 : 1;
}
