"""How people really type dates in a chat: a corpus beyond the test cases, for the benchmark.

Every row reads at Tuesday 24 November 2026, 10:00 in Paris (``BASE``), as a deadline or a
meeting unless its section says "done" (the date of something done). ``expected`` is
written by hand from the calendar, in the notation of ``dates_corpus`` (``2026-11-25``,
``2026-11-25 14:00``, ``2026-11-25 14:00-16:00``, ``RRULE:… @ …``), or ``!`` when Coordo
must refuse: a date that is past, impossible, vague, ambiguous, or not a date at all.

A refusal where a value was expected counts as refused; any value other than the
expected one, or a value where a refusal was expected, counts as wrong.

Calendar around now: Nov 24 Tue, 25 Wed, 26 Thu, 27 Fri, 28 Sat, 29 Sun, 30 Mon; Dec 1 Tue,
3 Thu, 4 Fri, 8 Tue, 11 Fri, 15 Tue, 16 Wed, 17 Thu, 18 Fri, 25 Fri, 31 Thu; Jan 1 2027 Fri,
Jan 15 Fri, Jan 16 Sat.
"""

from __future__ import annotations

from typing import Literal

from tests.commands.dates_corpus import BASE, Case, _cases, outcome

REFUSE = "!"

Verdict = Literal["correct", "wrong", "refused"]


def verdict(case: Case) -> tuple[Verdict, str]:
    """How Coordo fares on a case, and what it answered."""
    got = outcome(case)
    if case.expected == REFUSE:
        return ("correct" if got.startswith("!") else "wrong"), got
    if got == case.expected:
        return "correct", got
    return ("refused" if got.startswith("!") else "wrong"), got


_FR = """
# ---- relative days
demain | 2026-11-25
Demain | 2026-11-25
demain. | 2026-11-25
à demain | 2026-11-25
pour demain | 2026-11-25
d'ici demain | 2026-11-25
après-demain | 2026-11-26
apres demain | 2026-11-26
Après-demain | 2026-11-26
aujourd'hui | 2026-11-24
aujourdhui | 2026-11-24
dans 2 jours | 2026-11-26
dans deux jours | 2026-11-26
dans 10 jours | 2026-12-04
dans 8 jours | 2026-12-02
dans 3 semaines | 2026-12-15
dans trois semaines | 2026-12-15
dans 2 mois | 2027-01-24
dans six mois | 2027-05-24
d'ici 2 semaines | 2026-12-08
sous 8 jours | 2026-12-02
dans 48h | 2026-11-26 10:00
dans 1 heure | 2026-11-24 11:00
dans une heure | 2026-11-24 11:00
dans une demi-heure | 2026-11-24 10:30
dans une demi heure | 2026-11-24 10:30
dans 20 min | 2026-11-24 10:20
dans 1h | 2026-11-24 11:00
dans 3 h | 2026-11-24 13:00
dans un quart d'heure | 2026-11-24 10:15
dans 2 jours à 15h | 2026-11-26 15:00
dans une quinzaine de jours | !
il y a 2 jours | !
hier soir | !
le lendemain | !
# ---- weekdays
lundi | 2026-11-30
LUNDI | 2026-11-30
mardi | 2026-12-01
mercredi | 2026-11-25
samedi | 2026-11-28
dimanche | 2026-11-29
lundi prochain | 2026-11-30
jeudi prochain | 2026-12-03
samedi prochain | 2026-12-05
mardi suivant | 2026-12-01
jeudi suivant | 2026-12-03
le lundi suivant | 2026-11-30
mercredi en huit | 2026-12-02
mardi en quinze | 2026-12-15
vendredi en quinze | 2026-12-11
ce jeudi | 2026-11-26
ce samedi | 2026-11-28
jeudi de cette semaine | 2026-11-26
jeudi de la semaine prochaine | 2026-12-03
lundi de la semaine prochaine | 2026-11-30
vendredi de la semaine prochaine | 2026-12-04
mercredi semaine prochaine | 2026-12-02
vendredi dernier | !
mardi dernier | !
le week-end prochain | !
ce week-end | !
d'ici jeudi | 2026-11-26
avant jeudi | 2026-11-26
jusqu'à jeudi | 2026-11-26
jeudi au plus tard | 2026-11-26
au plus tard jeudi | 2026-11-26
pour jeudi prochain | 2026-12-03
jeudi prochain dernier délai | 2026-12-03
# ---- a weekday and a time
jeudi 9h | 2026-11-26 09:00
jeudi à 9h | 2026-11-26 09:00
jeudi 9h30 | 2026-11-26 09:30
jeudi à 9 h 30 | 2026-11-26 09:30
jeudi a 14h | 2026-11-26 14:00
vendredi 17h | 2026-11-27 17:00
vendredi à 17h30 | 2026-11-27 17:30
lundi 8h | 2026-11-30 08:00
lundi matin 8h | 2026-11-30 08:00
lundi 10h-12h | 2026-11-30 10:00-12:00
mercredi de 14h à 16h | 2026-11-25 14:00-16:00
jeudi midi | 2026-11-26 12:00
vendredi soir | 2026-11-27 18:00
vendredi soir 20h | 2026-11-27 20:00
vendredi soir à 8h | 2026-11-27 20:00
vendredi 8h du soir | 2026-11-27 20:00
samedi matin | 2026-11-28 09:00
dimanche après-midi | 2026-11-29 14:00
lundi aprem | 2026-11-30 14:00
mardi prochain 14h | 2026-12-01 14:00
mardi prochain à 14h30 | 2026-12-01 14:30
jeudi vers 15h | 2026-11-26 15:00
jeudi vers midi | 2026-11-26 12:00
mercredi en fin de journée | 2026-11-25 18:00
jeudi 15h-17h | 2026-11-26 15:00-17:00
jeudi entre 14h et 16h | 2026-11-26 14:00-16:00
jeudi après-midi à 3h | 2026-11-26 15:00
jeudi après-midi 15h | 2026-11-26 15:00
jeudi matin à 11h | 2026-11-26 11:00
jeudi matin à 15h | !
vendredi soir à 2h | !
jeudi 14:30 | 2026-11-26 14:30
jeudi 14h00 | 2026-11-26 14:00
lundi 9H30 | 2026-11-30 09:30
vendredi 17H | 2026-11-27 17:00
jeudi14h | 2026-11-26 14:00
vendredi a 16h | 2026-11-27 16:00
# ---- a day of the month and a time
le 15 à 9h | 2026-12-15 09:00
le 15 à 9h30 | 2026-12-15 09:30
le 15 9h | 2026-12-15 09:00
le 15, 9h | 2026-12-15 09:00
le 15 a 9h | 2026-12-15 09:00
le 3 à 14h | 2026-12-03 14:00
le 30 à 10h | 2026-11-30 10:00
le 15 à 18h | 2026-12-15 18:00
le 25 à 14h | 2026-11-25 14:00
le 24 à 9h | !
le 24 à 16h | 2026-11-24 16:00
mardi 15 à 16h | 2026-12-15 16:00
mercredi 16 à 18h | 2026-12-16 18:00
jeudi 17 à 10h | 2026-12-17 10:00
vendredi 18 à 14h30 | 2026-12-18 14:30
samedi 28 à 10h | 2026-11-28 10:00
lundi 30 à 9h | 2026-11-30 09:00
mardi 1er à 14h | 2026-12-01 14:00
jeudi 3 à 15h | 2026-12-03 15:00
vendredi 4 à 12h | 2026-12-04 12:00
samedi 16 à 18h | !
vendredi 15 à 16h | !
jeudi 15 | !
samedi 16 | !
le 15 de 14h à 16h | 2026-12-15 14:00-16:00
le 15 entre 9h et 10h | 2026-12-15 09:00-10:00
le 15 vers 10h | 2026-12-15 10:00
le 15 au matin | 2026-12-15 09:00
le 15 au soir | 2026-12-15 18:00
le 15 dans l'après-midi | 2026-12-15 14:00
le 15 décembre à 9h | 2026-12-15 09:00
le 15/12 à 9h | 2026-12-15 09:00
15/12 9h | 2026-12-15 09:00
15/12 à 9h30 | 2026-12-15 09:30
le 15/12 a 10h | 2026-12-15 10:00
# ---- an hour and a part of the day
8 heures ce soir | 2026-11-24 20:00
8h ce soir | 2026-11-24 20:00
ce soir 8h | 2026-11-24 20:00
ce soir à 8h | 2026-11-24 20:00
ce soir à 21h | 2026-11-24 21:00
ce soir vers 19h | 2026-11-24 19:00
ce soir 20h30 | 2026-11-24 20:30
à 3 heures cet après-midi | 2026-11-24 15:00
3h cet après-midi | 2026-11-24 15:00
cet après-midi à 3h | 2026-11-24 15:00
cet après-midi 15h | 2026-11-24 15:00
cet aprem à 16h | 2026-11-24 16:00
ce matin 11h | 2026-11-24 11:00
ce matin à 11h | 2026-11-24 11:00
ce matin à 9h | !
ce soir à 2h | !
demain 8h du matin | 2026-11-25 08:00
demain à 8h du mat | 2026-11-25 08:00
3h du mat | 2026-11-25 03:00
3h du matin | 2026-11-25 03:00
9h du mat | 2026-11-25 09:00
demain soir 9h | 2026-11-25 21:00
demain soir à 21h30 | 2026-11-25 21:30
demain après-midi à 2h | 2026-11-25 14:00
demain après-midi 15h | 2026-11-25 15:00
demain aprem 16h | 2026-11-25 16:00
demain matin 8h30 | 2026-11-25 08:30
demain midi et demi | 2026-11-25 12:30
matin | 2026-11-25 09:00
après-midi | 2026-11-24 14:00
apres-midi | 2026-11-24 14:00
soir | 2026-11-24 18:00
le soir | 2026-11-24 18:00
en fin de journée | 2026-11-24 18:00
demain en fin de journée | 2026-11-25 18:00
# ---- clock idioms
midi moins le quart | 2026-11-24 11:45
midi et quart | 2026-11-24 12:15
midi et demie | 2026-11-24 12:30
midi pile | 2026-11-24 12:00
à midi pile | 2026-11-24 12:00
14h pile | 2026-11-24 14:00
14h tapantes | 2026-11-24 14:00
midi trente | 2026-11-24 12:30
minuit | 2026-11-25 00:00
à minuit | 2026-11-25 00:00
15h moins le quart | 2026-11-24 14:45
15h moins 10 | 2026-11-24 14:50
quinze heures | 2026-11-24 15:00
seize heures trente | 2026-11-24 16:30
dix-sept heures | 2026-11-24 17:00
14 heures 30 | 2026-11-24 14:30
14h00 | 2026-11-24 14:00
14H | 2026-11-24 14:00
14H30 | 2026-11-24 14:30
14h15 | 2026-11-24 14:15
demain 14 h | 2026-11-25 14:00
Demain 14H | 2026-11-25 14:00
demain14h | 2026-11-25 14:00
demain 8:30 | 2026-11-25 08:30
demain 08h30 | 2026-11-25 08:30
# ---- hedges
vers 16h | 2026-11-24 16:00
environ 15h | 2026-11-24 15:00
à environ 15 heures | 2026-11-24 15:00
aux alentours de 15h | 2026-11-24 15:00
autour de 15h | 2026-11-24 15:00
vers midi | 2026-11-24 12:00
demain vers 10h | 2026-11-25 10:00
vers 10h demain | 2026-11-25 10:00
jeudi vers 14h30 | 2026-11-26 14:30
environ 14h30 | 2026-11-24 14:30
15h environ | 2026-11-24 15:00
le 15 vers 16h | 2026-12-15 16:00
vers la fin du mois | 2026-11-30
vers le 15 | 2026-12-15
aux environs du 15 | 2026-12-15
à peu près 15h | 2026-11-24 15:00
vers l'aube | !
samedi vers l'aube | !
à l'aube | !
# ---- weeks
la semaine prochaine | 2026-11-30
semaine prochaine | 2026-11-30
la semaine dernière | !
dans 2 semaines | 2026-12-08
dans quinze jours | 2026-12-09
en fin de semaine | 2026-11-27
en début de semaine prochaine | 2026-11-30
début de semaine prochaine | 2026-11-30
fin de semaine prochaine | 2026-12-04
fin de la semaine prochaine | 2026-12-04
la semaine du 7 | !
dans le courant de la semaine | !
cette semaine | !
# ---- numeric dates
15/12 | 2026-12-15
15/12/2026 | 2026-12-15
15/12/26 | 2026-12-15
15-12-2026 | 2026-12-15
15.12.2026 | 2026-12-15
15.12.26 | 2026-12-15
1/12 | 2026-12-01
01/12/2026 | 2026-12-01
5/1 | 2027-01-05
05/01 | 2027-01-05
05/01/2027 | 2027-01-05
le 05/01 | 2027-01-05
31/12/2026 | 2026-12-31
30/11 | 2026-11-30
le 30/11 | 2026-11-30
2026-12-15 | 2026-12-15
15/12 14h | 2026-12-15 14:00
15/12 à 14h | 2026-12-15 14:00
15/12/2026 14:00 | 2026-12-15 14:00
15/12/2026 à 14h30 | 2026-12-15 14:30
31/10/74 | !
01/01/99 | !
15/01/27 | 2027-01-15
3/4 | 2027-04-03
32/12 | !
15/12/2026 25h | !
lundi 30/11 | 2026-11-30
mardi 15/12 | 2026-12-15
mercredi 15/12 | !
mar 15/12 | 2026-12-15
le mardi 15/12 à 10h | 2026-12-15 10:00
# ---- written dates
15 décembre | 2026-12-15
15 decembre | 2026-12-15
15 déc | 2026-12-15
15 déc. | 2026-12-15
15 dec 2026 | 2026-12-15
le 15 décembre 2026 | 2026-12-15
mardi 15 décembre | 2026-12-15
mardi 15 déc. | 2026-12-15
le mardi 15 décembre à 14h | 2026-12-15 14:00
15 décembre à 14h | 2026-12-15 14:00
15 décembre 14h | 2026-12-15 14:00
15 décembre, 14h | 2026-12-15 14:00
le 1er décembre | 2026-12-01
1 décembre | 2026-12-01
le 2 janvier | 2027-01-02
2 janv | 2027-01-02
2 janv. 2027 | 2027-01-02
le 10 février | 2027-02-10
10 fév | 2027-02-10
le 1er avril | 2027-04-01
14 juillet | 2027-07-14
le 8 mai | 2027-05-08
25 décembre | 2026-12-25
le 31 décembre à minuit | !
jeudi 17 décembre | 2026-12-17
vendredi 18 décembre à 10h | 2026-12-18 10:00
jeudi 18 décembre | !
le 15 décembre prochain | 2026-12-15
1er janvier 2027 | 2027-01-01
30 février | !
le 15 du mois prochain | 2026-12-15
le 3 du mois prochain | 2026-12-03
le 15 de ce mois | !
# ---- edges of a period
fin décembre | 2026-12-31
début décembre | 2026-12-01
mi-décembre | 2026-12-15
mi décembre | 2026-12-15
mi-janvier | 2027-01-15
fin janvier | 2027-01-31
début février | 2027-02-01
en fin de mois | 2026-11-30
d'ici la fin de l'année | 2026-12-31
avant la fin de l'année | 2026-12-31
avant la fin du mois | 2026-11-30
d'ici fin décembre | 2026-12-31
pour fin décembre | 2026-12-31
courant décembre | !
en décembre | !
décembre | !
le mois prochain | 2026-12-01
l'an prochain | 2027-01-01
# ---- deadline words
avant le 15 | 2026-12-15
avant le 15 décembre | 2026-12-15
pour le 15 | 2026-12-15
d'ici le 15 | 2026-12-15
au plus tard le 15 | 2026-12-15
le 15 au plus tard | 2026-12-15
jusqu'au 15 | 2026-12-15
jusqu'au 15 décembre | 2026-12-15
avant vendredi | 2026-11-27
pour vendredi 14h | 2026-11-27 14:00
avant jeudi midi | 2026-11-26 12:00
d'ici à vendredi | 2026-11-27
au plus tard vendredi 12h | 2026-11-27 12:00
avant demain 18h | 2026-11-25 18:00
dès demain | 2026-11-25
à partir de lundi | 2026-11-30
# ---- recurrences
tous les jeudis | RRULE:FREQ=WEEKLY;BYDAY=TH @ 2026-11-26
chaque jeudi | RRULE:FREQ=WEEKLY;BYDAY=TH @ 2026-11-26
tous les jeudis à 10h | RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=10;BYMINUTE=0 @ 2026-11-26 10:00
le jeudi à 10h chaque semaine | !
tous les 15 du mois | RRULE:FREQ=MONTHLY;BYMONTHDAY=15 @ 2026-12-15
tous les matins | !
# ---- not dates, or not one date
deux trois | !
A4 A5 | !
un deux | !
trois | !
T2 | !
v2 | !
2e | !
3ème | !
10 | !
42 | !
100 | !
1er | !
dans | !
demain ou après-demain | !
lundi ou mardi | !
jeudi ou vendredi | !
14h ou 15h | !
le 15 ou le 16 | !
quand tu peux | !
asap | !
dès que possible | !
bientôt | !
plus tard | !
un de ces jours | !
la semaine des 4 jeudis | !
page 12 | !
salle 204 | !
3 personnes | !
12 euros | !
15% | !
v1.2 | !
2x3 | !
5 min | !
demain à l'heure du déjeuner | !
semaine 50 | !
S50 | !
Q1 | !
T1 2027 | !
H+2 | !
# ---- more of the same, typed differently
lundi 14h30 | 2026-11-30 14:30
lundi 30 novembre à 14h | 2026-11-30 14:00
30/11 à 14h30 | 2026-11-30 14:30
demain 9h-10h | 2026-11-25 09:00-10:00
vendredi de 9 à 11h | 2026-11-27 09:00-11:00
jeudi 14-16h | 2026-11-26 14:00-16:00
jeudi 26 à 16h | 2026-11-26 16:00
lundi 7 à 16h | 2026-12-07 16:00
jeudi 26/11 à 16h | 2026-11-26 16:00
jeudi 14 à 16h | !
le 1er | 2026-12-01
1er décembre à 10h | 2026-12-01 10:00
jeudi matin vers 10h | 2026-11-26 10:00
jeudi en fin de matinée | !
demain en fin d'après-midi | !
demain à la première heure | !
midi demain | 2026-11-25 12:00
mercredi prochain à midi | 2026-12-02 12:00
vendredi 27/11 14h | 2026-11-27 14:00
dans la semaine | !
d'ici vendredi 18h | 2026-11-27 18:00
lundi 07/12 | 2026-12-07
12/7 | 2027-07-12
0h30 | 2026-11-25 00:30
24h | !
à 8 heures | 2026-11-25 08:00
à huit heures | 2026-11-25 08:00
à neuf heures et demie | 2026-11-25 09:30
à deux heures | !
2 heures | !
le 2 à 14h | 2026-12-02 14:00
dimanche 29 à 10h | 2026-11-29 10:00
samedi 5/12 à 10h | 2026-12-05 10:00
jeudi prochain 3 décembre | 2026-12-03
mardi prochain 8 décembre | !
d'ici ce soir | 2026-11-24 18:00
ce midi | 2026-11-24 12:00
à 14h30 le 15 | 2026-12-15 14:30
14h le 15/12 | 2026-12-15 14:00
le 15 en fin de journée | 2026-12-15 18:00
fin de journée | 2026-11-24 18:00
mar 15 | 2026-12-15
mar 15 à 10h | 2026-12-15 10:00
"""

_FR_DONE = """
hier | 2026-11-23
hier soir | 2026-11-23 18:00
hier à 14h | 2026-11-23 14:00
avant-hier | 2026-11-22
lundi | 2026-11-23
lundi dernier | 2026-11-23
la semaine dernière | 2026-11-16
il y a 2 semaines | 2026-11-10
le 20 | 2026-11-20
20/11 | 2026-11-20
jeudi 19 | 2026-11-19
jeudi 19 novembre | 2026-11-19
ce matin | 2026-11-24 09:00
ce matin à 8h | 2026-11-24 08:00
3h du mat | 2026-11-24 03:00
demain | !
"""

_EN = """
# ---- relative days
tomorrow | 2026-11-25
Tomorrow | 2026-11-25
tomorrow. | 2026-11-25
tmrw | 2026-11-25
tmr | 2026-11-25
today | 2026-11-24
day after tomorrow | 2026-11-26
in 2 days | 2026-11-26
in two days | 2026-11-26
in 10 days | 2026-12-04
in 3 weeks | 2026-12-15
in three weeks | 2026-12-15
in 2 months | 2027-01-24
in six months | 2027-05-24
in a fortnight | 2026-12-08
in an hour | 2026-11-24 11:00
in 1 hour | 2026-11-24 11:00
in half an hour | 2026-11-24 10:30
in 30 mins | 2026-11-24 10:30
in 20 minutes | 2026-11-24 10:20
in 90 minutes | 2026-11-24 11:30
in 2 hrs | 2026-11-24 12:00
in 48 hours | 2026-11-26 10:00
in a quarter of an hour | 2026-11-24 10:15
in an hour and a half | 2026-11-24 11:30
within 3 days | 2026-11-27
3 days from now | 2026-11-27
a week from today | 2026-12-01
a week from tomorrow | 2026-12-02
two weeks from today | 2026-12-08
a month from now | 2026-12-24
in a couple of days | 2026-11-26
in a few days | !
2 days ago | !
# ---- weekdays
monday | 2026-11-30
tuesday | 2026-12-01
wednesday | 2026-11-25
thursday | 2026-11-26
saturday | 2026-11-28
sunday | 2026-11-29
Thursday | 2026-11-26
next tuesday | 2026-12-01
next thursday | 2026-12-03
next saturday | 2026-12-05
next sunday | 2026-12-06
this thursday | 2026-11-26
this saturday | 2026-11-28
this coming monday | 2026-11-30
coming friday | 2026-11-27
on thursday | 2026-11-26
wednesday of next week | 2026-12-02
friday of next week | 2026-12-04
monday next week | 2026-11-30
thursday next week | 2026-12-03
friday after next | 2026-12-04
the friday after next | 2026-12-04
3 fridays from now | 2026-12-11
2 mondays from now | 2026-12-07
last friday | !
by thursday | 2026-11-26
before thursday | 2026-11-26
until friday | 2026-11-27
no later than friday | 2026-11-27
thursday at the latest | 2026-11-26
this weekend | !
next weekend | !
# ---- a weekday and a time
thursday 9am | 2026-11-26 09:00
thursday at 9am | 2026-11-26 09:00
thursday at 9:30am | 2026-11-26 09:30
thursday 2pm | 2026-11-26 14:00
thursday at 14:00 | 2026-11-26 14:00
friday 5pm | 2026-11-27 17:00
friday at 5:30pm | 2026-11-27 17:30
monday 8am | 2026-11-30 08:00
monday morning at 8 | 2026-11-30 08:00
monday at 8 in the morning | 2026-11-30 08:00
friday evening | 2026-11-27 18:00
friday night | 2026-11-27 20:00
friday evening at 7 | 2026-11-27 19:00
friday at 7pm | 2026-11-27 19:00
saturday morning | 2026-11-28 09:00
sunday afternoon | 2026-11-29 14:00
next tuesday at 2pm | 2026-12-01 14:00
next tuesday 2:30pm | 2026-12-01 14:30
thursday around 3pm | 2026-11-26 15:00
thursday at noon | 2026-11-26 12:00
thursday noon | 2026-11-26 12:00
thursday 2-4pm | 2026-11-26 14:00-16:00
thursday from 2 to 4pm | 2026-11-26 14:00-16:00
thursday between 2pm and 3pm | 2026-11-26 14:00-15:00
thursday afternoon at 3 | 2026-11-26 15:00
thursday afternoon 3pm | 2026-11-26 15:00
thursday morning at 11 | 2026-11-26 11:00
thursday morning at 3pm | !
friday evening at 2 | !
wednesday at 10 | 2026-11-25 10:00
wednesday at 3 | !
wed 3pm | 2026-11-25 15:00
thu 10am | 2026-11-26 10:00
fri 4pm | 2026-11-27 16:00
thurs 10am | 2026-11-26 10:00
tues 2pm | 2026-12-01 14:00
mon 9am | 2026-11-30 09:00
next fri | 2026-12-04
next tues | 2026-12-01
this fri | 2026-11-27
# ---- a day of the month and a time
the 15th at 9am | 2026-12-15 09:00
on the 15th at 9am | 2026-12-15 09:00
the 15th at 2pm | 2026-12-15 14:00
15th at 2pm | 2026-12-15 14:00
on the 3rd at 10am | 2026-12-03 10:00
the 30th at 10am | 2026-11-30 10:00
Tuesday the 15th | 2026-12-15
Tuesday 15th at 4pm | 2026-12-15 16:00
Wednesday the 16th at 6pm | 2026-12-16 18:00
Thursday 17th | 2026-12-17
Thu 15th | !
Friday the 15th | !
Saturday 28th at 10am | 2026-11-28 10:00
Monday 30th | 2026-11-30
Tue 1st | 2026-12-01
the 25th at 2pm | 2026-11-25 14:00
the 24th at 9am | !
the 24th at 4pm | 2026-11-24 16:00
the 15th from 2 to 4pm | 2026-12-15 14:00-16:00
the 15th around 10am | 2026-12-15 10:00
the 15th in the morning | 2026-12-15 09:00
the 15th in the afternoon | 2026-12-15 14:00
on the 15th | 2026-12-15
the 15th of december | 2026-12-15
15th december | 2026-12-15
december 15th at 9am | 2026-12-15 09:00
dec 15th 9am | 2026-12-15 09:00
# ---- an hour and a part of the day
this afternoon at 3:20 | 2026-11-24 15:20
this afternoon at 3 | 2026-11-24 15:00
3 this afternoon | 2026-11-24 15:00
3pm this afternoon | 2026-11-24 15:00
tonight at 11 | 2026-11-24 23:00
tonight at 8 | 2026-11-24 20:00
tonight at 8pm | 2026-11-24 20:00
8 tonight | 2026-11-24 20:00
8pm tonight | 2026-11-24 20:00
this evening at 7 | 2026-11-24 19:00
7 this evening | 2026-11-24 19:00
tomorrow afternoon at 5 | 2026-11-25 17:00
tomorrow afternoon at 2:30 | 2026-11-25 14:30
tomorrow morning at 8 | 2026-11-25 08:00
tomorrow morning at 10:30 | 2026-11-25 10:30
tomorrow evening at 6 | 2026-11-25 18:00
tomorrow night at 9 | 2026-11-25 21:00
9 tomorrow | 2026-11-25 09:00
9am tomorrow | 2026-11-25 09:00
tomorrow at 9 | 2026-11-25 09:00
tomorrow at 10 | 2026-11-25 10:00
tomorrow at 3 | !
this morning at 11 | 2026-11-24 11:00
this morning at 9 | !
at 3 in the afternoon | 2026-11-24 15:00
at 8 in the evening | 2026-11-24 20:00
at 7 in the morning | 2026-11-25 07:00
morning | 2026-11-25 09:00
afternoon | 2026-11-24 14:00
evening | 2026-11-24 18:00
tonight | 2026-11-24 20:00
midnight | 2026-11-25 00:00
tomorrow at midnight | !
tomorrow 2pm | 2026-11-25 14:00
Tomorrow @ 2pm | 2026-11-25 14:00
tomorrow @ 14:00 | 2026-11-25 14:00
tmrw 2pm | 2026-11-25 14:00
# ---- clock idioms
a quarter past 3pm | 2026-11-24 15:15
quarter past 3pm | 2026-11-24 15:15
half past 3 pm | 2026-11-24 15:30
half past 3pm | 2026-11-24 15:30
quarter to 5pm | 2026-11-24 16:45
a quarter to 5pm | 2026-11-24 16:45
quarter past noon | 2026-11-24 12:15
half past noon | 2026-11-24 12:30
midday | 2026-11-24 12:00
at midday | 2026-11-24 12:00
tomorrow midday | 2026-11-25 12:00
noon tomorrow | 2026-11-25 12:00
3 o'clock | !
11 o'clock | 2026-11-24 11:00
at 3 15 | !
at 10 30 | 2026-11-24 10:30
at 3 15 pm | 2026-11-24 15:15
3.30pm | 2026-11-24 15:30
3:30 p.m. | 2026-11-24 15:30
3 p.m. | 2026-11-24 15:00
3PM | 2026-11-24 15:00
15:30 | 2026-11-24 15:30
1530 | !
15 minutes from 1pm | 2026-11-24 13:15
30 minutes after 2pm | 2026-11-24 14:30
at 2pm sharp | 2026-11-24 14:00
2pm on the dot | 2026-11-24 14:00
# ---- hedges
around 3pm | 2026-11-24 15:00
about 3pm | 2026-11-24 15:00
approximately 3pm | 2026-11-24 15:00
at around 3pm | 2026-11-24 15:00
at about 3pm | 2026-11-24 15:00
roughly 3pm | 2026-11-24 15:00
around noon | 2026-11-24 12:00
around 10am tomorrow | 2026-11-25 10:00
tomorrow around 10am | 2026-11-25 10:00
friday around 2pm | 2026-11-27 14:00
around the 15th | 2026-12-15
3pm-ish | 2026-11-24 15:00
around 3 | !
at dawn | !
saturday at dawn | !
# ---- weeks
next week | 2026-11-30
last week | !
the week after next | 2026-12-07
in two weeks | 2026-12-08
a week from friday | 2026-12-04
2 weeks from friday | 2026-12-11
end of next week | 2026-12-04
beginning of next week | 2026-11-30
early next week | 2026-11-30
later this week | !
sometime next week | !
this week | !
# ---- numeric dates
12/15 | 2026-12-15
12/15/2026 | 2026-12-15
12/15/26 | 2026-12-15
12-15-2026 | 2026-12-15
15/12 | 2026-12-15
15/12/2026 | 2026-12-15
1/5 | !
05/01 | !
1/15 | 2027-01-15
1/15/27 | 2027-01-15
2026-12-15 | 2026-12-15
12/15 at 2pm | 2026-12-15 14:00
12/15 2pm | 2026-12-15 14:00
12/15/2026 14:00 | 2026-12-15 14:00
10/31/74 | !
13/13 | !
2/30 | !
Tue 12/15 | 2026-12-15
Wed 12/15 | !
# ---- written dates
Dec 15 | 2026-12-15
December 15 | 2026-12-15
dec 15 | 2026-12-15
Dec. 15 | 2026-12-15
Dec 15th | 2026-12-15
December 15, 2026 | 2026-12-15
15 Dec | 2026-12-15
15 Dec 2026 | 2026-12-15
the 15th of Dec | 2026-12-15
Tuesday, December 15 | 2026-12-15
Tue, Dec 15 | 2026-12-15
Tue Dec 15 at 2pm | 2026-12-15 14:00
Dec 15 at 2:30pm | 2026-12-15 14:30
December 15 at 14:00 | 2026-12-15 14:00
Dec 15, 2pm | 2026-12-15 14:00
Jan 2 | 2027-01-02
January 2nd | 2027-01-02
Feb 10 | 2027-02-10
March 3rd | 2027-03-03
April 1 | 2027-04-01
July 4th | 2027-07-04
Dec 25 | 2026-12-25
Thursday, December 17 | 2026-12-17
Friday, December 17 | !
Nov 30 | 2026-11-30
Nov 24 | 2026-11-24
Nov 23 | 2027-11-23
Sept 30 | 2027-09-30
Sep 3 | 2027-09-03
Dec 15 2026 at 9am | 2026-12-15 09:00
# ---- edges of a period
end of December | 2026-12-31
early December | 2026-12-01
mid-December | 2026-12-15
mid December | 2026-12-15
late January | 2027-01-31
beginning of January | 2027-01-01
end of Jan | 2027-01-31
by end of month | 2026-11-30
by the end of the year | 2026-12-31
end of year | 2026-12-31
by end of next month | 2026-12-31
in December | !
December | !
next month | 2026-12-01
next year | 2027-01-01
# ---- deadline words
before the 15th | 2026-12-15
by the 15th | 2026-12-15
by Dec 15 | 2026-12-15
due Dec 15 | 2026-12-15
due friday | 2026-11-27
no later than Dec 15 | 2026-12-15
until the 15th | 2026-12-15
by friday 5pm | 2026-11-27 17:00
before friday noon | 2026-11-27 12:00
by tomorrow | 2026-11-25
by tomorrow noon | 2026-11-25 12:00
starting monday | 2026-11-30
# ---- recurrences
every thursday | RRULE:FREQ=WEEKLY;BYDAY=TH @ 2026-11-26
every thursday at 10am | RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=10;BYMINUTE=0 @ 2026-11-26 10:00
thursdays at 10am | RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=10;BYMINUTE=0 @ 2026-11-26 10:00
every 15th | RRULE:FREQ=MONTHLY;BYMONTHDAY=15 @ 2026-12-15
every morning | !
# ---- not dates, or not one date
two three | !
A4 A5 | !
one two | !
three | !
T2 | !
v2 | !
2nd | !
10 | !
42 | !
may | !
march | !
sun | !
sat | !
a | !
asap | !
soon | !
later | !
whenever | !
someday | !
page 12 | !
room 204 | !
3 people | !
$12 | !
15% | !
v1.2 | !
2x3 | !
5 min | !
tomorrow at lunchtime | !
monday or tuesday | !
2 or 3pm | !
the 15th or 16th | !
week 50 | !
Q1 | !
H1 | !
1st draft | !
top 5 | !
4x4 | !
24/7 | 2027-07-24
9 to 5 | !
Catch-22 | !
COVID-19 | !
Windows 10 | !
iPhone 15 | !
# ---- more of the same, typed differently
Mon 2:30pm | 2026-11-30 14:30
Monday, November 30 at 2pm | 2026-11-30 14:00
11/30 at 2:30pm | 2026-11-30 14:30
tomorrow 9-10am | 2026-11-25 09:00-10:00
from 9 to 11am | 2026-11-25 09:00-11:00
thursday 2-4 | !
Monday 7th at 4pm | 2026-12-07 16:00
next Monday the 7th | !
the 1st | 2026-12-01
Dec 1st at 10 | 2026-12-01 10:00
thursday morning around 10 | 2026-11-26 10:00
tomorrow first thing | !
tomorrow at 12:30 | 2026-11-25 12:30
Fri 11/27 2pm | 2026-11-27 14:00
Mon 12/7 | !
7/12 | !
at 8 | 2026-11-25 08:00
at eight | 2026-11-25 08:00
at nine thirty | 2026-11-25 09:30
nine am | 2026-11-25 09:00
two pm | 2026-11-24 14:00
at 2 | !
2 hours | !
Sunday the 29th at 10am | 2026-11-29 10:00
Sat 12/5 at 10am | 2026-12-05 10:00
next Thursday Dec 3 | 2026-12-03
end of day | !
EOD | !
by tonight | 2026-11-24 20:00
at 2:30pm on the 15th | 2026-12-15 14:30
2pm on 12/15 | 2026-12-15 14:00
the 15th in the evening | 2026-12-15 18:00
tomorrow lunchtime | !
3 weeks from today | 2026-12-15
a fortnight from today | 2026-12-08
a week today | !
the monday after next | 2026-12-07
last day of next month | 2026-12-31
Mar 15 | 2027-03-15
Tue, Mar 16 | 2027-03-16
"""

_EN_DONE = """
yesterday | 2026-11-23
yesterday at 3pm | 2026-11-23 15:00
yesterday afternoon | 2026-11-23 14:00
last night | 2026-11-23 20:00
last monday | 2026-11-23
monday | 2026-11-23
last week | 2026-11-16
two weeks ago | 2026-11-10
the 20th | 2026-11-20
Nov 20 | 2026-11-20
11/20 | 2026-11-20
this morning | 2026-11-24 09:00
this morning at 8 | 2026-11-24 08:00
last friday at 4pm | 2026-11-20 16:00
tomorrow | !
"""

TYPED: list[Case] = [
    *_cases("fr", _FR, BASE),
    *_cases("fr", _FR_DONE, BASE, mode="done"),
    *_cases("en", _EN, BASE),
    *_cases("en", _EN_DONE, BASE, mode="done"),
]
