#!/usr/bin/env python3
"""Adversarial synthetic population for the master patient index.

    python3 bench/adversarial/population.py PERSONS SEED OUT

Writes OUT/<SOURCE>.csv (one per contributor), OUT/truth.csv (source,record_id,person)
and OUT/kinds.csv (person,hard_case). Python 3.11 standard library only; the same
PERSONS and SEED give byte-identical output.

This generator was written independently of the engine, its matchers and the project's
own generator: none of them were read. Rates come from memory of published English
data-quality material (NHS Digital Data Quality Maturity Index (DQMI) and SUS/HES data
quality dashboards, PDS data-quality notes, ONS births and census tables, LGA/Better Care
Fund reports on NHS number use in social care, ambulance ePCR reports). They are rough
orders of magnitude, not citations.

Contributors (12)
-----------------
  M85001 GP (Birmingham & Black Country)  ISO dates      M86010 GP (Coventry & Warwickshire) UK dates
  M81026 GP (Worcestershire), UPPER CASE, UK dates       M81082 GP (Herefordshire) ISO dates
  RRK  acute, Birmingham, UPPER, ISO     RKB acute, Coventry, UK     RWP acute, Worcestershire, UPPER, UK
  RLQ  acute, Hereford, ISO              RXT mental health (Birmingham), UK
  RYW  community (Birmingham), UPPER, ISO       E08000025 Birmingham City Council social care, UK
  RYA  West Midlands Ambulance Service, UPPER, ISO (one record per incident: no local index)
Each person is registered with the GP of the area they live in now; secondary records come
from the area they lived in at the time of the contact. Mental health, community and social
care only cover Birmingham, so Birmingham residents have more records.

Population
----------
Adults 18+ (age bands follow the ONS mid-year estimate shape), in households: single 30%,
couple 35%, couple + adult children 13%, lone parent + adult children 5.5%, three-generation
South Asian households 3%, HMOs of 4-9 sharers 0.6% of households (~2% of persons); plus care homes (~0.8% of persons, ONS
census ~1% of adults), student halls (~1.2% of persons in Birmingham/Coventry/Worcester) and
no fixed abode (~0.15%, Shelter/ONS homelessness ~0.3% incl. temporary accommodation).
Cultures by area (Birmingham roughly: White British 62%, Pakistani/Bangladeshi 16%, Sikh 5%,
Hindu 4%, Black African/Caribbean 6%, Polish 3%, Irish 2.5%, Chinese 1%, Welsh 0.5%; far
less diverse in Worcestershire/Herefordshire, more Polish and Welsh there). Names are drawn
from Zipf-weighted lists per culture and (for British names) per birth cohort, plus a long
tail of composed British surnames so that Smith is ~1.3% of White British, as in England.
Lives: moves (0-3 previous addresses, younger adults move more, ~15% of moves cross area),
marriage (about 75% of married women took the husband's name; older records keep the
maiden name), care-home admission, students with a parental home address, the homeless
with hostel and old addresses. ~1.2% of persons are not registered with a GP.

Records: ~3 per person on average, overdispersed (Poisson-gamma; some 1, frequent
attenders and care-home fallers 8+). Secondary records keep the demographics of the day
they were made unless traced again (acute 45% stale, MH 35%, community 40%, social care
30%; GPs are PDS-synchronised: always current). 2.5% of repeat contacts at a hospital,
MH, community or council create a duplicate local record instead of reusing one, about
1% of their records (PAS duplicate rates of 0.5-2% of records are commonly reported).

Per-record error rates by contributor kind (GP / acute / MH / community / social / ambulance)
  NHS number missing     0.2% / 1.5% / 1.2% / 3% / 15% / 35%   (DQMI: GP and SUS ~99%+ valid;
                         MHSDS ~99%, CSDS ~97%; social care 80-95%; ambulance ePCR 60-70%)
  adjacent transposition 0.04% / 0.2% / 0.2% / 0.2% / 0.3% / 0.4%   (keying errors; always
                         fails modulus 11)     single-digit typo about half of that
  household member's number  0.02% / 0.1% / 0.1% / 0.1% / 0.3% / 0.4%
  superseded number      0.15% of persons had a duplicate PDS record merged; older records
                         carry the retired (valid) number
  DOB missing            0.03% / 0.1% / 0.1% / 0.2% / 1.5% / 4%
  DOB day/month swap     0.05% / 0.2% / 0.2% / 0.2% / 0.4% / 0.6%   (only when day <= 12)
  DOB off a year / digit 0.08% / 0.3% / 0.3% / 0.3% / 0.5% / 1.2%
  DOB estimated 01/01/Y  0.02% / 0.2% / 0.2% / 0.2% / 1% / 3%
  registered 1 Jan DOB   1.5% of adults of migrant cultures (PDS's known excess of 1 January
                         births); 20% of their records show the documented real DOB
  sex missing            0.05% / 0.2% / 0.2% / 0.3% / 1% / 1.5%  (x8 for gender-neutral names)
  postcode missing       0.2% / 0.6% / 0.6% / 1% / 2% / 8%; postcode typo 0.2%-1.2%;
                         stored without the space in some systems; occasional lower case
  name typo (keyboard neighbour, dropped, doubled, transposed letter)
                         0.5% / 1.2% / 1.2% / 1.5% / 2% / 3% per name field
  preferred/nick name    3% / 6% / 20% / 15% / 30% / 35% of records of persons who have one
                         (~35% of persons with a nickable name prefer a nickname)
  middle name used as first: ~3% of persons known by their middle name
  given/family swapped   0.1% / 0.4% / 0.4% / 0.4% / 0.6% / 1% (x8 for Chinese, x2 South Asian)
  transliteration / spelling variant (Mohammed/Muhammad..., Chowdhury/Choudhury...,
  Oluwaseun/Oluseun, Jasvinder/Jaswinder; Steven/Stephen, Clarke/Clark...)
                         2% / 10% / 10% / 10% / 15% / 18% of records where a variant exists
  double-barrelled surnames (~1% of British persons + some married women): either order,
  one half, space instead of hyphen, first half pushed into the given names
  Mc/Mac/O' variants, Sikh Singh/Kaur vs clan surname, Begum/Bibi vs husband's surname,
  Polish female surname in male form, Polish diacritics kept by a few systems
  upper case for whole contributors, naive title case (Mcdonald) in some, extra whitespace.

Hard cases (kinds.csv). Counts for 100,000 persons are printed on stderr at the end.
Patient-safety traps (different persons that look alike):
  twin / triplet        ~3% of persons are in a multiple-birth set (ONS: ~1.5% of
                        maternities are multiple, so ~3% of people are twins; most adult
                        twin sets here still live with a parent, ~15% live apart sharing
                        only the childhood address). Names alike (Ella/Ellie, Jake/Jack,
                        Hassan/Hussain, Taiwo/Kehinde, Cerys/Carys) or alliterative.
                        twin_opposite_sex for mixed sets.
  twin_no_nhs           10% of sets: one twin has no NHS number on any record.
  twin_nhs_of_sibling   8% of sets: one record of a twin carries the co-twin's number.
  parent_child_same_name  ~7% of father-son and ~1.5% of mother-daughter co-resident pairs
                        share given name(s); DOB 18-45 years apart.
  child_record_has_parent_nhs  30% of those: an extra social-care or ambulance record of the
                        child carries the parent's NHS number (40% of them without DOB).
  care_home / student_hall / hmo / no_fixed_abode  communal addresses; many unrelated
                        people on one address and postcode (ZZ99 3VZ for no fixed abode).
  communal_same_surname / communal_same_name  residents of one establishment sharing a
                        family name (and given name) within 10 years of age; forced in
                        every care home and hall, natural elsewhere.
  namesake / namesake_same_dob  same first name, family name and birth year (or the full
                        DOB) and living in the same area, different households: ~0.4% of
                        persons are forced pairs on top of those the name skew makes.
  neutral_name_spouses  ~1.8% of British/Irish/Welsh couples: Chris/Chris, Sam/Sam, Jo/Joe,
                        Jess/Jesse, Frankie..., same surname and address, DOB 0.5-6 years
                        apart, sex missing on ~8% of their records.
  unidentified_record   2.5% of ambulance and 0.4% of acute records are "unknown patient"
                        placeholders (UNKNOWN / UNKNOWN MALE, DOB 1900-01-01 or 01/01/guessed
                        year, ZZ99 3VZ or no postcode); 6% of them carry a dummy number
                        0000000000 or 9999999999 (both pass modulus 11): placeholder_nhs.
  restricted            0.05% of persons, all records restricted=1.
Recall traps (true matches that look different), one label per person when at least one
of their records shows it: old_address_on_record, name_change_marriage, nickname,
alt_name_form, middle_name_as_first, mohammed_prefix_dropped, transliteration,
spelling_variant, given_family_swap, double_barrelled_variant, mc_mac_o_variant,
sikh_naming, alt_surname (Begum/Bibi), polish_surname_gender, diacritics, name_typo,
dob_day_month_swap, dob_error, dob_estimated, dob_registered_jan1, nhs_transposed,
nhs_typo, nhs_of_household_member, superseded_nhs, postcode_typo, sex_error,
duplicate_local_record.
"""

import bisect
import csv
import itertools
import math
import os
import random
import sys
import time
from datetime import date

NOW = date(2024, 6, 30)
NOW_O = NOW.toordinal()
YEAR = 365.2425
NEG_INF = -10 ** 9

rng = random.Random(0)
rnd = rng.random


def L(s):
    """Comma separated list."""
    return [x.strip() for x in s.split(",") if x.strip()]


class Picker:
    __slots__ = ("items", "cum", "tot")

    def __init__(self, items, s=0.6, weights=None):
        self.items = list(items)
        w = weights if weights is not None else [1.0 / (i + 1) ** s for i in range(len(self.items))]
        self.cum = list(itertools.accumulate(w))
        self.tot = self.cum[-1]

    def __call__(self):
        return self.items[bisect.bisect_right(self.cum, rnd() * self.tot)]


def wchoice(pairs):
    """pairs: list of (item, weight)."""
    tot = sum(w for _, w in pairs)
    x = rnd() * tot
    for it, w in pairs:
        x -= w
        if x < 0:
            return it
    return pairs[-1][0]


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------

BRIT_M = [
    L("John, William, George, Thomas, James, Robert, Kenneth, Peter, Ronald, Dennis, Arthur, "
      "Frederick, Albert, Edward, Roy, Raymond, Leslie, Derek, Brian, Stanley, Harold, Alan, "
      "Michael, David, Donald, Eric, Norman, Jack, Ernest, Walter, Colin, Keith, Gordon, Frank, "
      "Alfred, Geoffrey, Douglas, Terence, Anthony, Bernard, Cyril, Henry, Charles, Richard, "
      "Roger, Malcolm, Barry, Maurice, Trevor, Graham, Leonard, Sidney, Gerald, Clifford"),
    L("David, John, Paul, Mark, Michael, Andrew, Stephen, Peter, Robert, Ian, Richard, Gary, "
      "Steven, Christopher, Anthony, Kevin, Alan, Martin, Philip, Nigel, Neil, Simon, Colin, "
      "Keith, Graham, Brian, Trevor, Timothy, Jeffrey, Clive, Barry, Malcolm, Roger, Kenneth, "
      "Terence, Patrick, Dean, Darren, Carl, Wayne, Jonathan, Russell, Lee, Adrian, Derek, "
      "Raymond, Geoffrey, Julian, William, James, Thomas, Edward"),
    L("David, Paul, Mark, Andrew, Michael, Christopher, Richard, James, Daniel, Stephen, "
      "Matthew, Lee, Darren, Craig, Jason, Robert, Simon, John, Peter, Gary, Steven, Ian, Carl, "
      "Wayne, Dean, Scott, Thomas, Adam, Anthony, Jonathan, Kevin, Neil, Martin, Philip, Stuart, "
      "Ryan, Jamie, Nicholas, Benjamin, Gareth, Ben, Shaun, Marc, Russell, Timothy, Jeremy, "
      "Alexander, Samuel, Luke, William, Joseph, Liam"),
    L("Jack, Thomas, James, Joshua, Daniel, Harry, Samuel, Joseph, Matthew, Callum, Luke, "
      "William, Lewis, Oliver, Ryan, Benjamin, George, Liam, Jordan, Adam, Alexander, Jake, "
      "Connor, Cameron, Nathan, Kieran, Jamie, Charlie, Michael, Alfie, Dylan, Ethan, Bradley, "
      "Aaron, Reece, Kyle, Owen, Tyler, Lucas, Aidan, Aiden, Max, Jacob, Elliot, Harvey, Louis, "
      "Leo, Archie, Finley, Toby, Mason, Joel"),
]
BRIT_F = [
    L("Margaret, Mary, Joan, Patricia, Dorothy, Jean, Joyce, Doris, Irene, Barbara, Betty, "
      "Sheila, Elizabeth, Shirley, Brenda, Eileen, Audrey, Valerie, Pauline, Maureen, Kathleen, "
      "Sylvia, Marjorie, Iris, Elsie, Phyllis, Vera, Edna, Rita, June, Jennifer, Ann, Christine, "
      "Janet, Gillian, Sandra, Hilda, Gladys, Beryl, Marion, Ivy, Evelyn, Winifred, Pamela, "
      "Josephine, Anne, Rose, Frances, Gwendoline, Mavis"),
    L("Susan, Linda, Christine, Margaret, Janet, Patricia, Carol, Elizabeth, Mary, Anne, Ann, "
      "Jane, Jacqueline, Barbara, Karen, Julie, Deborah, Alison, Sandra, Gillian, Lesley, "
      "Tracey, Sarah, Diane, Helen, Lorraine, Jennifer, Angela, Wendy, Pauline, Catherine, "
      "Denise, Dawn, Amanda, Kathleen, Valerie, Sharon, Nicola, Joanne, Caroline, Beverley, "
      "Maria, Teresa, Judith, Kim, Shirley, Yvonne, Jean, Frances"),
    L("Sarah, Claire, Nicola, Emma, Lisa, Joanne, Michelle, Helen, Louise, Karen, Rachel, "
      "Julie, Samantha, Kelly, Tracey, Amanda, Donna, Laura, Rebecca, Natalie, Victoria, Kerry, "
      "Gemma, Stephanie, Angela, Lindsey, Elizabeth, Jennifer, Catherine, Emily, Hayley, Zoe, "
      "Kirsty, Lucy, Jessica, Amy, Katie, Charlotte, Hannah, Joanna, Sharon, Dawn, Anna, "
      "Caroline, Alison, Jane, Leanne, Danielle, Vicky, Rachael"),
    L("Chloe, Emily, Megan, Jessica, Sophie, Charlotte, Hannah, Lauren, Rebecca, Lucy, Amy, "
      "Georgia, Katie, Bethany, Emma, Olivia, Ellie, Ella, Holly, Grace, Abigail, Amelia, "
      "Sophia, Isabelle, Isabella, Leah, Paige, Shannon, Jade, Courtney, Molly, Eleanor, Evie, "
      "Millie, Lily, Freya, Jasmine, Laura, Rachel, Danielle, Natasha, Zoe, Niamh, Caitlin, "
      "Abbie, Phoebe, Erin, Libby, Poppy, Ruby"),
]
BRIT_MID_M = L("James, John, William, Michael, David, Paul, Thomas, Peter, Edward, Robert, "
               "Anthony, Lee, George, Alan, Andrew, Richard, Charles, Joseph, Daniel, Mark, "
               "Alexander, Jack, Henry, Stephen, Christopher, Arthur, Frederick")
BRIT_MID_F = L("Elizabeth, Louise, Anne, Marie, Jane, Victoria, Mary, Rose, Grace, Ann, Lynn, "
               "Jayne, Margaret, Jean, Michelle, Emma, May, Joanne, Claire, Catherine, Frances, "
               "Amy, Sarah, Alice, Lily, Dawn, Patricia")
BRIT_SUR = L(
    "Smith, Jones, Williams, Taylor, Brown, Davies, Evans, Wilson, Thomas, Johnson, Roberts, "
    "Robinson, Thompson, Wright, Walker, White, Edwards, Hughes, Green, Hall, Lewis, Harris, "
    "Clarke, Jackson, Wood, Turner, Martin, Cooper, Hill, Ward, Morris, Moore, Clark, Lee, King, "
    "Baker, Harrison, Morgan, Allen, James, Scott, Phillips, Watson, Davis, Parker, Price, "
    "Bennett, Young, Griffiths, Mitchell, Kelly, Cook, Carter, Richardson, Bailey, Collins, Bell, "
    "Shaw, Murphy, Miller, Cox, Richards, Marshall, Anderson, Simpson, Ellis, Adams, Wilkinson, "
    "Foster, Chapman, Powell, Webb, Rogers, Gray, Mason, Hunt, Campbell, Matthews, Owen, Palmer, "
    "Holmes, Mills, Barnes, Knight, Lloyd, Butler, Russell, Barker, Fisher, Stevens, Jenkins, "
    "Murray, Dixon, Harvey, Graham, Pearson, Fletcher, Walsh, Gibson, Howard, Andrews, Stewart, "
    "Elliott, Reynolds, Saunders, Payne, Fox, Ford, Pearce, Day, Brooks, West, Lawrence, Cole, "
    "Atkinson, Bradley, Spencer, Gill, Dawson, Ball, Burton, O'Brien, Watts, Rose, Booth, Perry, "
    "Ryan, Grant, Wells, Armstrong, Francis, Rees, Hayes, Hart, Hudson, Newman, Barrett, "
    "Webster, Hunter, Gregory, Carr, Lowe, Page, Marsh, Riley, Dunn, Woods, Parsons, Berry, "
    "Stone, Reid, Holland, Hawkins, Harding, Porter, Robertson, Newton, Oliver, Reed, Kennedy, "
    "Williamson, Bird, Gardner, Shepherd, Dennis, McDonald, MacDonald, Hammond, Bishop, "
    "McKenzie, Stephens, Phillips, Thomson, Smyth")
TAIL_PRE = L("Ash, Black, Brad, Bram, Brook, Bur, Chad, Chal, Cres, Dal, Dun, Eld, Fair, Farn, "
             "Fen, Gar, Glad, Gold, Grim, Hal, Ham, Hart, Haw, Hol, Hors, Kil, Kirk, Lang, Lid, "
             "Lind, Mar, Mid, Mil, Nor, Ock, Pen, Rad, Rams, Ray, Red, Ring, Rod, Rush, Salt, "
             "Sand, Shel, Stan, Stock, Sut, Thorn, Tod, Wad, Wal, War, Wat, Wes, Whit, Wig, Win, "
             "Wolf, Wor, Yar, Birk, Cal, Cart, Cham, Craw, Elm, Fal, Hin, Ket, Lat, Ot, Pad, Rid, "
             "Sher, Tal, Twy, Brom, Cot, Dray, Bex, Cran, Glas, Hather, Kings, Leigh, Over")
TAIL_SUF = L("ley, ton, worth, field, ham, by, ford, wood, well, combe, dale, hurst, stead, low, "
             "more, wick, bury, den, don, shaw, ridge, brook, cliffe, gate, thorpe, land, man, "
             "burn, bridge, stone, croft, ington, cott, hill, wright, all, ett, ock, ing, er")
BRIT_TAIL = [p + s for p in TAIL_PRE for s in TAIL_SUF]

WELSH_M = L("Rhys, Dafydd, Gareth, Gethin, Owain, Iwan, Huw, Emyr, Aled, Bryn, Dylan, Ieuan, "
            "Gwilym, Rhodri, Cai, Osian, Llyr, Meirion, Trefor, Elis, Sion")
WELSH_F = L("Cerys, Rhian, Sian, Bethan, Ffion, Catrin, Nia, Carys, Eleri, Angharad, Gwen, Lowri, "
            "Megan, Seren, Mared, Heledd, Manon, Glenys, Non, Elin")
WELSH_SUR = L("Jones, Davies, Williams, Evans, Thomas, Roberts, Hughes, Lewis, Morgan, Griffiths, "
              "Price, Powell, Pritchard, Bowen, Parry, Pugh, Vaughan, Rees, Llewellyn, Howells, "
              "Jenkins, Prosser, Watkins, Gwynne, Lloyd, Owen, Morris, Phillips, James, Probert")
IRISH_M = L("Patrick, Sean, Seamus, Declan, Ciaran, Liam, Connor, Niall, Eoin, Padraig, Michael, "
            "John, Kevin, Brendan, Dermot, Fergus, Cormac, Colm, Darragh, Oisin")
IRISH_F = L("Siobhan, Niamh, Aoife, Roisin, Mary, Bridget, Maureen, Ciara, Grainne, Orla, "
            "Sinead, Eileen, Kathleen, Nuala, Deirdre, Aisling, Caoimhe, Saoirse, Clodagh, Una")
IRISH_SUR = L("Murphy, Kelly, O'Brien, O'Sullivan, Walsh, O'Connor, McCarthy, Byrne, Ryan, "
              "O'Neill, Doyle, Gallagher, Kennedy, Lynch, Quinn, McDonnell, Fitzgerald, "
              "McLaughlin, O'Reilly, Brennan, Doherty, Moore, Kavanagh, O'Donnell, McGrath, "
              "Nolan, Power, Duffy, Burke, Flynn, Maguire, Keane, McMahon, Daly, Foley, O'Shea, "
              "Connolly, Hughes, Donnelly, McCann")
MOHAMMEDS = ["Mohammed", "Muhammad", "Mohammad", "Mohamed", "Muhammed"]
MOHAMMED_W = [45, 25, 15, 8, 7]
MUSLIM_M = L("Ali, Ahmed, Imran, Asif, Tariq, Zubair, Usman, Bilal, Hamza, Adnan, Faisal, Shahid, "
             "Khalid, Abdul, Rashid, Zahid, Nadeem, Amir, Yasir, Irfan, Sajid, Arshad, Javed, "
             "Kamran, Waqas, Ibrahim, Yusuf, Haroon, Hassan, Hussain, Omar, Ismail, Idris, Zain, "
             "Ayaan, Rayyan, Adam, Shabir, Nasir, Aftab, Akram, Azhar, Liaquat, Mushtaq, Rafiq, "
             "Shakeel, Tahir, Wasim, Zafar, Rizwan")
MUSLIM_F = L("Fatima, Ayesha, Zainab, Maryam, Sadia, Nazia, Shazia, Rubina, Samina, Nasreen, "
             "Parveen, Shabana, Rukhsana, Saima, Hina, Amna, Iqra, Khadija, Noor, Sana, Hafsa, "
             "Bushra, Farzana, Tahira, Safia, Yasmin, Nusrat, Razia, Shamim, Naseem, Hajra, "
             "Aaliyah, Ruqayyah, Halima, Sumaya, Aleena, Inaya, Anisa, Asma, Rehana, Salma, "
             "Shahida, Tasleem, Zahida, Jameela, Mumtaz, Nasima, Rahima, Sabina")
MUSLIM_SUR = L("Khan, Hussain, Ali, Ahmed, Mahmood, Iqbal, Rashid, Shah, Mohammed, Aslam, Butt, "
               "Malik, Rehman, Riaz, Yousaf, Javed, Nawaz, Anwar, Ahmad, Rahman, Miah, Uddin, "
               "Islam, Hoque, Ullah, Chowdhury, Mirza, Qureshi, Sheikh, Siddiqui, Saleem, Zaman, "
               "Hanif, Latif, Arshad, Sadiq, Bashir, Farooq, Yaqoob, Raza, Abbas, Mughal, Kazmi, "
               "Dar, Mir, Akhtar")
MUSLIM_F_SUR = [("Begum", 40), ("Bibi", 25), ("Akhtar", 15), ("Kausar", 7), ("Parveen", 7),
                ("Khatun", 6)]
SIKH_U = L("Harjit, Gurpreet, Manjit, Jaswinder, Sukhwinder, Harpreet, Kuldeep, Rajinder, "
           "Balvinder, Paramjit, Amarjit, Jasbir, Kulwant, Navdeep, Mandeep, Jaspreet, Gurdeep, "
           "Harvinder, Ranjit, Davinder, Baljit, Jagdeep, Sukhdev, Parminder, Inderjit, "
           "Kulvinder, Surinder, Jatinder, Hardeep, Amandeep")
SIKH_M = SIKH_U + L("Satnam, Gurdev, Jagjit, Tarsem, Ajit, Gurmukh, Jaskaran, Arjan")
SIKH_F = SIKH_U + L("Simran, Jasleen, Harleen, Manpreet, Navjot, Kiranjit, Charanjit, Rupinder, "
                    "Sukhjeet, Amrit")
SIKH_CLAN = L("Sandhu, Gill, Sidhu, Dhillon, Bains, Johal, Sahota, Atwal, Grewal, Bhogal, "
              "Dhaliwal, Virdi, Kang, Mann, Basra, Cheema, Rai, Sangha, Thandi, Hayer, Hothi, "
              "Kalsi, Matharu, Sohal, Uppal, Bhatti, Chahal, Sekhon, Randhawa, Nijjar")
HINDU_M = L("Rajesh, Sanjay, Amit, Vijay, Anil, Suresh, Ramesh, Dinesh, Nilesh, Rakesh, Ashok, "
            "Pankaj, Hitesh, Kiran, Mahesh, Jayesh, Bharat, Deepak, Manoj, Pradeep, Ravi, Sunil, "
            "Vinod, Arjun, Rohan, Krish, Nikhil, Yash, Dev, Raj")
HINDU_F = L("Priya, Anjali, Pooja, Neha, Asha, Meena, Sunita, Geeta, Nisha, Kavita, Hema, Rekha, "
            "Bhavna, Jayshree, Hansa, Usha, Manisha, Rina, Sonal, Shital, Dipika, Komal, Riya, "
            "Divya, Shreya, Ananya, Kiran, Nita, Jyoti, Leela")
HINDU_MID = L("Kantilal, Ramanlal, Chhotubhai, Mohanlal, Jayantilal, Manilal, Harilal, "
              "Natwarlal, Dhirajlal, Vallabhbhai, Prakash, Kumar")
HINDU_SUR = L("Patel, Sharma, Kumar, Shah, Mistry, Parmar, Chauhan, Joshi, Mehta, Desai, Lad, "
              "Solanki, Gupta, Verma, Lal, Chopra, Kapoor, Mahay, Bhatt, Pandya, Modi, Thakkar, "
              "Vaghela, Rana, Suthar, Makwana, Chavda, Kotecha, Ladwa, Sodha")
AFR_M = L("Samuel, Daniel, Emmanuel, David, Joseph, Michael, Oluwaseun, Chukwuemeka, Olumide, "
          "Adebayo, Kwame, Kofi, Kwabena, Yaw, Babatunde, Oluwafemi, Segun, Ifeanyi, Chinedu, "
          "Obinna, Godwin, Prince, Isaac, Peter, Paul, Delroy, Winston, Leroy, Marcus, Tyrone, "
          "Andre, Jermaine")
AFR_F = L("Grace, Blessing, Esther, Mercy, Joy, Precious, Favour, Comfort, Oluwatoyin, Adaeze, "
          "Chioma, Ngozi, Folake, Funmilayo, Abena, Akosua, Ama, Oluwakemi, Yetunde, Bukola, "
          "Abimbola, Chiamaka, Nneka, Patience, Gifty, Marcia, Sonia, Paulette, Janice, "
          "Beverley, Shanice, Kezia")
AFR_SUR = L("Okafor, Adeyemi, Okonkwo, Adebayo, Mensah, Boateng, Owusu, Asante, Osei, Appiah, "
            "Agyeman, Ogunleye, Olawale, Eze, Nwosu, Ibrahim, Bello, Oyelaran, Adewale, Akinola, "
            "Oladipo, Ogundipe, Adeleke, Nwachukwu, Okeke, Obi, Campbell, Williams, Brown, "
            "Thomas, Francis, Clarke, Grant, Reid, Henry, Johnson, Samuels, Morgan, Bailey, "
            "Powell, Edwards, Lewis, Gordon, Walker, Robinson, James, Mitchell, Hylton, Bennett")
POL_M = L("Piotr, Krzysztof, Tomasz, Paweł, Michał, Marcin, Łukasz, Jakub, Grzegorz, Mateusz, "
          "Adam, Marek, Kamil, Dariusz, Wojciech, Andrzej, Jan, Rafał, Bartosz, Sebastian, "
          "Damian, Maciej, Szymon, Artur, Robert, Przemysław, Kacper, Filip, Patryk, Dawid")
POL_F = L("Anna, Katarzyna, Magdalena, Agnieszka, Joanna, Monika, Aleksandra, Małgorzata, Ewa, "
          "Justyna, Karolina, Natalia, Paulina, Marta, Beata, Dorota, Barbara, Izabela, Sylwia, "
          "Kinga, Weronika, Zuzanna, Julia, Zofia, Emilia, Dominika, Patrycja, Wiktoria, "
          "Renata, Edyta")
POL_SUR = L("Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński, "
            "Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Kwiatkowski, Krawczyk, "
            "Piotrowski, Grabowski, Nowakowski, Pawłowski, Michalski, Adamczyk, Dudek, Zając, "
            "Wieczorek, Jabłoński, Król, Majewski, Olszewski, Jaworski, Wróbel, Malinowski, "
            "Stępień, Górski, Rutkowski, Zawadzki, Sadowski")
CHI_M = L("Wei, Jun, Hao, Lei, Jian, Ming, Yong, Tao, Bo, Chao, Ka Wai, Siu Ming, Chi Keung, "
          "Wing Hong, Kin Man, Zhi Wei, Jia Hao, Yu Xuan, Hong, Kai")
CHI_F = L("Li, Mei, Xiu Ying, Ying, Hui, Yan, Jing, Fang, Ka Yan, Wai Man, Mei Ling, Siu Wah, "
          "Yuk Lan, Xin Yi, Yi Ting, Jia Hui, Min, Lin, Xue, Hong")
CHI_ENG_M = L("David, Kevin, Michael, Peter, Jason, Tony, Eric, Kenneth, Raymond, Vincent")
CHI_ENG_F = L("Michelle, Jenny, Grace, Helen, Amy, Karen, Cindy, Vivian, Winnie, Alice")
CHI_SUR = L("Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Chan, Wong, Cheung, Lam, "
            "Ng, Ho, Leung, Lee, Lau, Tang, Yip, Chow, Cheng, Lin, Xu, Sun, Ma, Zhu, Hu, Guo")

P_BRIT_M = [Picker(x, 0.6) for x in BRIT_M]
P_BRIT_F = [Picker(x, 0.6) for x in BRIT_F]
ALL_BRIT_M = list(dict.fromkeys(sum(BRIT_M, [])))
ALL_BRIT_F = list(dict.fromkeys(sum(BRIT_F, [])))
P_BRIT_SUR = Picker(BRIT_SUR, 0.5)
P = {  # generic pickers
    "welsh_m": Picker(WELSH_M, 0.6), "welsh_f": Picker(WELSH_F, 0.6),
    "welsh_sur": Picker(WELSH_SUR, 0.8),
    "irish_m": Picker(IRISH_M, 0.6), "irish_f": Picker(IRISH_F, 0.6),
    "irish_sur": Picker(IRISH_SUR, 0.6),
    "muslim_m": Picker(MUSLIM_M, 0.7), "muslim_f": Picker(MUSLIM_F, 0.6),
    "muslim_sur": Picker(MUSLIM_SUR, 0.95),
    "sikh_m": Picker(SIKH_M, 0.5), "sikh_f": Picker(SIKH_F, 0.5),
    "sikh_clan": Picker(SIKH_CLAN, 0.7),
    "hindu_m": Picker(HINDU_M, 0.6), "hindu_f": Picker(HINDU_F, 0.6),
    "hindu_sur": Picker(HINDU_SUR, 1.3),
    "african_m": Picker(AFR_M, 0.5), "african_f": Picker(AFR_F, 0.5),
    "african_sur": Picker(AFR_SUR, 0.4),
    "polish_m": Picker(POL_M, 0.6), "polish_f": Picker(POL_F, 0.6),
    "polish_sur": Picker(POL_SUR, 0.6),
    "chinese_m": Picker(CHI_M, 0.6), "chinese_f": Picker(CHI_F, 0.6),
    "chinese_sur": Picker(CHI_SUR, 0.9),
}
COMMON_SUR = {
    "british": BRIT_SUR[:12], "welsh": WELSH_SUR[:6], "irish": IRISH_SUR[:6],
    "muslim": MUSLIM_SUR[:6], "sikh": SIKH_CLAN[:4], "hindu": HINDU_SUR[:3],
    "african": AFR_SUR[:6], "polish": POL_SUR[:4], "chinese": CHI_SUR[:6],
}

# first name -> nicknames (first listed most likely)
NICK = {}
for _line in [
    "William: Bill, Will, Billy, Liam", "Robert: Bob, Rob, Bobby, Robbie", "Richard: Rich, Dick, Ricky",
    "Margaret: Peggy, Maggie, Meg, Madge", "Elizabeth: Liz, Beth, Betty, Lizzie",
    "Alexander: Alex, Sandy", "Alexandra: Alex, Sandy", "James: Jim, Jimmy, Jamie", "John: Jack, Johnny",
    "Edward: Ted, Eddie, Ed", "Anthony: Tony", "Michael: Mike, Mick, Micky", "Thomas: Tom, Tommy",
    "Christopher: Chris", "Christine: Chris, Chrissie", "Catherine: Kate, Cathy, Kath",
    "Patricia: Pat, Trish", "Susan: Sue, Susie", "Deborah: Debbie, Debs", "Jennifer: Jenny, Jen",
    "Rebecca: Becky, Becca", "Samantha: Sam", "Samuel: Sam, Sammy", "Daniel: Dan, Danny",
    "Joseph: Joe", "Benjamin: Ben", "Matthew: Matt", "Nicholas: Nick, Nicky", "Nicola: Nicky, Nikki",
    "Stephen: Steve", "Steven: Steve", "Andrew: Andy, Drew", "Peter: Pete", "David: Dave",
    "Kenneth: Ken, Kenny", "Frederick: Fred, Freddie", "Albert: Bert", "Harold: Harry",
    "Henry: Harry", "Charles: Charlie, Chas", "Charlotte: Charlie, Lottie", "Dorothy: Dot, Dolly",
    "Mary: Molly, May", "Frances: Fran", "Francis: Frank", "Gerald: Gerry", "Geoffrey: Geoff",
    "Leonard: Len", "Ronald: Ron, Ronnie", "Donald: Don", "Terence: Terry", "Raymond: Ray",
    "Timothy: Tim", "Philip: Phil", "Jacqueline: Jackie", "Josephine: Jo, Josie", "Joanne: Jo",
    "Victoria: Vicky", "Abigail: Abby", "Eleanor: Ellie, Nell", "Isabella: Izzy, Bella",
    "Isabelle: Izzy", "Gillian: Gill", "Pamela: Pam", "Kathleen: Kath", "Teresa: Tess",
    "Jessica: Jess", "Oliver: Ollie", "Joshua: Josh", "Jacob: Jake", "Callum: Cal",
    "Jonathan: Jon", "Lawrence: Laurie", "Gwendoline: Gwen", "Winifred: Winnie",
    "Krzysztof: Krzysiek", "Wojciech: Wojtek", "Małgorzata: Gosia", "Katarzyna: Kasia",
    "Aleksandra: Ola", "Jakub: Kuba", "Oluwaseun: Seun", "Oluwatoyin: Toyin", "Olumide: Mide",
    "Babatunde: Tunde", "Oluwafemi: Femi", "Chukwuemeka: Emeka", "Adebayo: Bayo",
    "Oluwakemi: Kemi", "Funmilayo: Funmi", "Abimbola: Bimbo", "Ifeanyi: Ify",
]:
    _k, _v = _line.split(":")
    NICK[_k.strip()] = L(_v)

# alternative forms of the same first name (Irish/Welsh/English, anglicised Polish)
ALT = {}
for _a, _b in [("Patrick", "Padraig"), ("James", "Seamus"), ("John", "Sean"), ("Joan", "Siobhan"),
               ("David", "Dafydd"), ("John", "Sion"), ("Jane", "Sian"), ("William", "Gwilym"),
               ("Evan", "Ieuan"), ("Hugh", "Huw"), ("Owen", "Owain"), ("Catherine", "Catrin"),
               ("Peter", "Piotr"), ("Paul", "Paweł"), ("Michael", "Michał"), ("Jacob", "Jakub"),
               ("John", "Jan"), ("Luke", "Łukasz"), ("Matthew", "Mateusz"), ("Greg", "Grzegorz"),
               ("Andrew", "Andrzej"), ("Martin", "Marcin"), ("Margaret", "Małgorzata"),
               ("Kate", "Katarzyna"), ("Eve", "Ewa"), ("Agnes", "Agnieszka")]:
    ALT.setdefault(_b, _a)

TRANSLIT = {}
for _grp in [
    "Mohammed, Muhammad, Mohammad, Mohamed, Muhammed, Mohamad", "Aisha, Ayesha, Aysha",
    "Ayesha, Aisha, Aysha", "Fatima, Fatimah, Fatma", "Yusuf, Yousuf, Yousaf, Yusef",
    "Ibrahim, Ebrahim", "Hussain, Hussein, Husain", "Hassan, Hasan", "Usman, Osman, Uthman",
    "Abdul, Abdool", "Zainab, Zaynab", "Maryam, Mariam", "Khadija, Khadijah", "Rukhsana, Ruksana",
    "Nasreen, Nasrin", "Parveen, Parvin, Perveen", "Shazia, Shaziya", "Yasmin, Yasmeen, Yasmine",
    "Amir, Aamir", "Asif, Aasif", "Imran, Imraan", "Rizwan, Rizwaan", "Hamza, Hamzah",
    "Haroon, Harun", "Naseem, Nasim", "Shamim, Shameem", "Tahir, Taahir", "Wasim, Waseem",
    "Jaswinder, Jasvinder", "Sukhwinder, Sukhvinder", "Harvinder, Harwinder",
    "Balvinder, Balwinder", "Kulvinder, Kulwinder", "Paramjit, Paramjeet", "Harjit, Harjeet",
    "Amarjit, Amarjeet", "Ranjit, Ranjeet", "Baljit, Baljeet", "Gurpreet, Gurprit",
    "Inderjit, Inderjeet", "Kuldeep, Kuldip", "Mandeep, Mandip", "Navdeep, Navdip",
    "Gurdeep, Gurdip", "Jagdeep, Jagdip", "Hardeep, Hardip", "Pradeep, Pradip",
    "Jayshree, Jayashree", "Bhavna, Bhavana", "Geeta, Gita", "Sunita, Suneeta", "Deepak, Dipak",
    "Oluwaseun, Oluseun", "Oluwafemi, Olufemi", "Oluwatoyin, Olutoyin", "Oluwakemi, Olukemi",
    "Chukwuemeka, Chukwuma", "Ka Wai, Kawai, Ka-Wai", "Siu Ming, Siuming, Siu-Ming",
    "Chi Keung, Chikeung, Chi-Keung", "Wing Hong, Winghong", "Kin Man, Kinman",
    "Zhi Wei, Zhiwei", "Jia Hao, Jiahao", "Yu Xuan, Yuxuan", "Xiu Ying, Xiuying",
    "Ka Yan, Kayan, Ka-Yan", "Wai Man, Waiman", "Mei Ling, Meiling, Mei-Ling", "Siu Wah, Siuwah",
    "Yuk Lan, Yuklan", "Xin Yi, Xinyi", "Yi Ting, Yiting", "Jia Hui, Jiahui",
    # surnames
    "Chowdhury, Choudhury, Chaudhry, Chaudhary, Choudhry", "Hussain, Hussein, Husain",
    "Ahmed, Ahmad", "Ahmad, Ahmed", "Rahman, Rehman", "Rehman, Rahman", "Mahmood, Mahmud, Mehmood",
    "Yousaf, Yusuf, Yousuf", "Siddiqui, Siddiqi", "Qureshi, Kureshi, Qureishi", "Begum, Begom",
    "Sheikh, Shaikh", "Uddin, Udin, Ud-Din", "Miah, Mia", "Hoque, Haque, Hoq", "Ullah, Ulla",
    "Mohammed, Muhammad, Mohammad", "Iqbal, Iqbaal", "Akhtar, Akhter", "Kausar, Kauser",
    "Khatun, Khatoon",
]:
    _xs = L(_grp)
    TRANSLIT.setdefault(_xs[0], _xs[1:])

PHON = {}
for _grp in ["Steven, Stephen", "Stephen, Steven", "Philip, Phillip", "Sarah, Sara", "Jon, John",
             "Shaun, Sean, Shawn", "Sean, Shaun, Shawn", "Claire, Clare", "Clare, Claire",
             "Ann, Anne", "Anne, Ann", "Catherine, Katherine, Kathryn", "Geoffrey, Jeffrey",
             "Jeffrey, Geoffrey", "Matthew, Mathew", "Lindsey, Lindsay", "Tracey, Tracy",
             "Nicola, Nichola", "Rachel, Rachael", "Rachael, Rachel", "Hayley, Haley",
             "Leanne, Lianne", "Louis, Lewis", "Lewis, Louis", "Isabelle, Isabel", "Elliot, Elliott",
             "Aidan, Aiden", "Aiden, Aidan", "Jayne, Jane", "Lesley, Leslie", "Vicky, Vicki",
             "Niamh, Neve", "Siobhan, Shevaun", "Aoife, Eefa", "Caoimhe, Keeva", "Zoe, Zoey",
             "Thompson, Thomson", "Thomson, Thompson", "Davies, Davis", "Davis, Davies",
             "Matthews, Mathews", "Reid, Reed, Read", "Reed, Reid", "Smith, Smyth", "Smyth, Smith",
             "Phillips, Philips", "Clarke, Clark", "Clark, Clarke", "Gray, Grey", "Allen, Allan",
             "Stevens, Stephens", "Stephens, Stevens", "Hughes, Hughs", "Jeffries, Jefferies",
             "Macdonald, McDonald", "Mitchell, Mitchel", "Nicholls, Nichols", "Powell, Powel",
             "Griffiths, Griffith", "Lloyd, Loyd", "Pritchard, Prichard", "Boateng, Boatang",
             "Okafor, Okafur", "Mensah, Mensa", "Cheung, Chung", "Leung, Liang"]:
    _xs = L(_grp)
    PHON.setdefault(_xs[0], _xs[1:])

TWIN_PAIRS = {
    "british": {
        "MM": "Jake/Jack; Aiden/Aidan; Luke/Lucas; Harry/Harvey; Louis/Lewis; Callum/Cameron; "
              "Jordan/Jayden; Ryan/Reece; Connor/Conor; Alfie/Archie; Owen/Ethan; Mason/Morgan; "
              "Joshua/Jacob; Daniel/David; Matthew/Mark; Oliver/Ollie; Thomas/Toby",
        "FF": "Ella/Ellie; Sophie/Sophia; Isabel/Isabelle; Amelia/Emilia; Hannah/Anna; Leah/Lea; "
              "Freya/Faye; Megan/Morgan; Chloe/Zoe; Lauren/Laura; Molly/Millie; Abbie/Amy; "
              "Jessica/Jasmine; Olivia/Olive; Emily/Emma; Lucy/Lily; Grace/Gracie; Katie/Kate",
        "MF": "Daniel/Danielle; Louis/Louise; Oliver/Olivia; Charlie/Charlotte; Jack/Jess; "
              "George/Georgia; Harry/Holly; Joel/Jodie; Aaron/Erin; Ryan/Rhian; Samuel/Samantha; "
              "Francis/Frances; Alex/Alexandra; Paul/Paula; Jake/Jade; Frankie/Francesca",
    },
    "welsh": {"MM": "Rhys/Rhydian; Dafydd/Dylan; Owain/Osian; Gethin/Gareth",
              "FF": "Cerys/Carys; Ffion/Fiona; Bethan/Bethany; Nia/Mia; Rhian/Rhiannon",
              "MF": "Rhys/Rhian; Cai/Cerys; Dylan/Delyth; Elis/Elin"},
    "irish": {"MM": "Sean/Shane; Niall/Neil; Liam/Leon; Ciaran/Kieran; Conor/Connor",
              "FF": "Niamh/Nia; Aoife/Eva; Roisin/Rosie; Ciara/Clara; Orla/Orlaith",
              "MF": "Sean/Sinead; Ciaran/Ciara; Liam/Lia; Eoin/Eimear"},
    "muslim": {"MM": "Hassan/Hussain; Hasan/Husain; Zain/Zayn; Adam/Adnan; Ibrahim/Ismail; "
                     "Hamza/Hamid; Umar/Usman; Ayaan/Ayan; Haris/Harris",
               "FF": "Amna/Amina; Sana/Saba; Hafsa/Hamna; Maryam/Mariam; Aisha/Ayesha; "
                     "Zara/Zoya; Inaya/Inaaya; Aleena/Alina",
               "MF": "Hassan/Hasna; Zain/Zainab; Ayaan/Aiza; Rayyan/Rania; Haris/Hira"},
    "sikh": {"MM": "Harpreet/Harjeet; Gurpreet/Gurjeet; Jaspreet/Jasmeet; Mandeep/Mandip; "
                   "Amandeep/Amanpreet; Jasdeep/Jaskaran",
             "FF": "Harpreet/Harleen; Simran/Simranjit; Jasleen/Jasmeet; Manpreet/Mandeep",
             "MF": "Harjit/Harjit; Gurpreet/Gurpreet; Jaspreet/Jasleen; Amandeep/Amanpreet"},
    "hindu": {"MM": "Ram/Laxman; Luv/Kush; Krish/Kush; Rohan/Rohit; Arjun/Arun",
              "FF": "Riya/Diya; Anjali/Anjana; Priya/Pooja; Nisha/Nikita",
              "MF": "Krishna/Radha; Rohan/Rohini; Aman/Amita"},
    "african": {"MM": "Taiwo/Kehinde; Kwame/Kwaku; Chidi/Chidera",
                "FF": "Taiwo/Kehinde; Abena/Ama; Chioma/Chiamaka",
                "MF": "Taiwo/Kehinde; Kwame/Akua"},
    "polish": {"MM": "Jakub/Jan; Kacper/Kamil; Filip/Fabian",
               "FF": "Zuzanna/Zofia; Natalia/Nikola; Julia/Julianna",
               "MF": "Jan/Janina; Aleksander/Aleksandra"},
    "chinese": {"MM": "Ka Wai/Ka Ming; Jia Hao/Jia Wei; Zhi Hao/Zhi Wei",
                "FF": "Mei Ling/Mei Yee; Jia Hui/Jia Xin; Ka Yan/Ka Man",
                "MF": "Ka Wai/Ka Yan; Jia Hao/Jia Hui"},
}
for _c in TWIN_PAIRS.values():
    for _k in list(_c):
        _c[_k] = [tuple(x.strip() for x in pr.split("/")) for pr in _c[_k].split(";")]

# (male formal, female formal, male short, female short)
NEUTRAL = [("Christopher", "Christine", "Chris", "Chris"), ("Christopher", "Christina", "Chris", "Chris"),
           ("Samuel", "Samantha", "Sam", "Sam"), ("Alexander", "Alexandra", "Alex", "Alex"),
           ("Joseph", "Joanne", "Joe", "Jo"), ("Jonathan", "Josephine", "Jo", "Jo"),
           ("Jesse", "Jessica", "Jesse", "Jess"), ("Francis", "Francesca", "Frankie", "Frankie"),
           ("Francis", "Frances", "Fran", "Fran"), ("Daniel", "Danielle", "Danny", "Dani"),
           ("Nicholas", "Nicola", "Nicky", "Nicky"), ("Charles", "Charlotte", "Charlie", "Charlie"),
           ("Terence", "Teresa", "Terry", "Terry"), ("Leslie", "Lesley", "Les", "Les"),
           ("Robert", "Roberta", "Bobby", "Bobbie"), ("Ashley", "Ashley", "Ash", "Ash"),
           ("Jamie", "Jamie", "Jamie", "Jamie"), ("Robin", "Robin", "Robin", "Robin"),
           ("Kim", "Kim", "Kim", "Kim"), ("Lee", "Leigh", "Lee", "Lee"),
           ("Max", "Maxine", "Max", "Max"), ("Georgie", "Georgina", "Georgie", "Georgie")]

PL_STRIP = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


# ---------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------

REGIONS = ["BHAM", "COV", "WORCS", "HEREF"]
REGION_W = [0.60, 0.18, 0.14, 0.08]
DISTRICTS_SPEC = {
    "BHAM": [("B5 B6 B7 B8 B9 B10 B11 B12 B13 B14 B15 B16 B17 B18 B19 B20 B21 B23 B24 B25 B26 "
              "B27 B28 B29 B30 B31 B32 B33 B34 B35 B36 B37 B38 B42 B43 B44", "Birmingham", 1.0),
             ("B62 B63", "Halesowen", .8), ("B64", "Cradley Heath", .6), ("B65", "Rowley Regis", .6),
             ("B66 B67", "Smethwick", .8), ("B68 B69", "Oldbury", .8),
             ("B70 B71", "West Bromwich", .9), ("B72 B73 B74 B75 B76", "Sutton Coldfield", .8),
             ("B90", "Shirley", .8), ("B91 B92", "Solihull", .8), ("B93", "Knowle", .4),
             ("WV1 WV2 WV3 WV4 WV6 WV10 WV11", "Wolverhampton", .9), ("WV14", "Bilston", .7),
             ("DY1 DY2 DY3", "Dudley", .9), ("DY4", "Tipton", .7), ("DY5", "Brierley Hill", .7),
             ("DY8 DY9", "Stourbridge", .8), ("WS1 WS2 WS3 WS4 WS5", "Walsall", .9),
             ("WS10", "Wednesbury", .7)],
    "COV": [("CV1 CV2 CV3 CV4 CV5 CV6", "Coventry", 1.0), ("CV8", "Kenilworth", .6),
            ("CV10 CV11", "Nuneaton", .8), ("CV12", "Bedworth", .6), ("CV21 CV22", "Rugby", .8),
            ("CV31 CV32", "Leamington Spa", .8), ("CV34", "Warwick", .7),
            ("CV37", "Stratford-upon-Avon", .6)],
    "WORCS": [("WR1 WR2 WR3 WR4 WR5", "Worcester", 1.0), ("WR9", "Droitwich", .7),
              ("WR10", "Pershore", .5), ("WR11", "Evesham", .7), ("WR14", "Malvern", .8),
              ("DY10 DY11", "Kidderminster", .9), ("DY13", "Stourport-on-Severn", .6),
              ("B60 B61", "Bromsgrove", .8), ("B97 B98", "Redditch", .9)],
    "HEREF": [("HR1 HR2 HR4", "Hereford", 1.0), ("HR6", "Leominster", .7), ("HR8", "Ledbury", .6),
              ("HR9", "Ross-on-Wye", .6), ("HR5", "Kington", .3), ("HR7", "Bromyard", .4)],
}
UNI = {"BHAM": (["B15", "B29"], "Birmingham"), "COV": (["CV4", "CV1"], "Coventry"),
       "WORCS": (["WR2"], "Worcester")}
STREET_ROOTS = L(
    "Park, Church, Station, High, Mill, School, Victoria, Green, Manor, Queens, Kings, New, "
    "Grange, Albert, Windsor, Springfield, Highfield, Stratford, Warwick, Alcester, Bristol, "
    "Pershore, Evesham, Ledbury, Aston, Moseley, Oak, Elm, Ash, Beech, Birch, Chestnut, Willow, "
    "Holly, Hawthorn, Rowan, Cedar, Lime, Maple, Poplar, Sycamore, Laburnum, Cherry, Orchard, "
    "Meadow, Brook, River, Bridge, Castle, Abbey, Priory, Chapel, Farm, Hall, Hill, Valley, Wood, "
    "Forest, Heath, Common, Moor, Lodge, Mount, Vicarage, Rectory, Tower, Market, North, South, "
    "East, West, Lower, Upper, Long, Broad, Wellington, Nelson, Gladstone, Shakespeare, Milton, "
    "Tennyson, Byron, Chaucer, Kipling, Elgar, Cromwell, Tudor, Lancaster, York, Clarence, "
    "Cambridge, Oxford, Derby, Stafford, Shrewsbury, Lichfield, Tamworth, Sandwell, Stoney, Barn, "
    "Cross, Well, Spring, Fountain, Pool, Waterloo, Trafalgar, Balmoral, Sandringham, Osborne, "
    "Belgrave, Grosvenor, Cavendish, Devonshire, Russell, Bedford, Portland, Clifton, Somerset, "
    "Dorset, Kent, Essex, Norfolk, Lincoln, Chester, Worcester, Hereford, Gloucester, Malvern, "
    "Bromsgrove, Kidderminster, Stourport, Tenbury, Leominster, Dudley, Walsall, Sutton, "
    "Erdington, Handsworth, Yardley, Shirley, Solihull, Knowle, Kenilworth, Leamington, Canley, "
    "Earlsdon, Foleshill, Radford, Binley, Allesley, Coventry, Tile Hill, Hay, Bell, Foxglove, "
    "Primrose, Bluebell, Heather, Lavender, Juniper, Larch, Alder, Hazel, Holland, Cotswold")
STREET_TYPES = [("Road", 35), ("Street", 15), ("Avenue", 8), ("Lane", 10), ("Close", 10),
                ("Drive", 7), ("Grove", 4), ("Way", 4), ("Crescent", 3), ("Gardens", 2),
                ("Place", 2)]
ABBR = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Lane": "Ln", "Close": "Cl", "Drive": "Dr",
        "Grove": "Gr", "Way": "Way", "Crescent": "Cres", "Gardens": "Gdns", "Place": "Pl"}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
HOME_NAMES = L("Oakwood, Beechcroft, Willow Bank, Rosewood, Meadowview, Ashfield, Brookside, "
               "Highfield, The Laurels, Elmhurst, Cedar Court, Hollybank, Greenacres, Fernleigh, "
               "Hawthorn, Primrose, Sycamore, Lavender, Orchard, Riverside, Woodlands, Severn View, "
               "Abbeyfield, Malvern View, Kingsley, St Anne's, Bramley")
HOME_KIND = L("Care Home, Nursing Home, House, Lodge, Court, Residential Home")
HALL_NAMES = L("Chamberlain Hall, Mason Hall, Elgar Court, Godiva House, Priory Hall, Severn Hall, "
               "Lanchester Court, Jarvis House, Tennyson Hall, Heronbank, Whitefriars Hall, "
               "Cathedral Court, Lakeside Hall, Sutton Hall, Canal View")


class Street:
    __slots__ = ("id", "name", "typ", "town", "outward", "maxnum", "inwards", "region")


class Addr:
    __slots__ = ("kind", "st", "num", "flat", "bname", "pc", "region", "estab")

    def __init__(self, kind, st, num, flat, bname, pc, region, estab=None):
        self.kind, self.st, self.num, self.flat = kind, st, num, flat
        self.bname, self.pc, self.region, self.estab = bname, pc, region, estab


STREETS = []
DISTRICTS = {}          # region -> list of [outward, town, streets, used_inwards]
DIST_PICK = {}          # region -> Picker over district indices
USED_ADDR = set()
NFA_ADDR = {}
HOSTELS = {}
EST_PER_STREET = 34.0


def setup_geography(n_persons):
    for r in REGIONS:
        ds, ws = [], []
        for outs, town, w in DISTRICTS_SPEC[r]:
            for o in outs.split():
                ds.append([o, town, [], set()])
                ws.append(w)
        DISTRICTS[r] = ds
        DIST_PICK[r] = Picker(list(range(len(ds))), weights=ws)
    # number of streets per district from the expected number of addresses
    exp_addr = n_persons * 0.85 + 2000
    for ri, r in enumerate(REGIONS):
        ds = DISTRICTS[r]
        tw = DIST_PICK[r].tot
        ws = [DIST_PICK[r].cum[0]] + [b - a for a, b in zip(DIST_PICK[r].cum, DIST_PICK[r].cum[1:])]
        for d, w in zip(ds, ws):
            k = max(3, int(exp_addr * REGION_W[ri] * w / tw / EST_PER_STREET + 0.5))
            for _ in range(k):
                new_street(r, d)
        NFA_ADDR[r] = Addr("nfa", None, 0, "", "", "ZZ99 3VZ", r)
    for r, names in (("BHAM", ["Cornerstone House", "Harbour House", "Digbeth Hostel"]),
                     ("COV", ["Harnall Lane Hostel", "Priory Lodge"]), ("WORCS", ["Sansome House"]),
                     ("HEREF", ["Bath Street Hostel"])):
        HOSTELS[r] = [special_address(r, "hostel", nm) for nm in names]


def new_inward(d):
    while True:
        s = str(rng.randint(0, 9)) + rng.choice(INWARD_LETTERS) + rng.choice(INWARD_LETTERS)
        if s not in d[3]:
            d[3].add(s)
            return s


def new_street(region, d):
    used = {(s.name, s.typ) for s in d[2]}
    st = Street()
    for _ in range(30):
        name = rng.choice(STREET_ROOTS)
        typ = wchoice(STREET_TYPES)
        if (name, typ) not in used:
            break
    st.id = len(STREETS)
    st.name, st.typ, st.town, st.outward, st.region = name, typ, d[1], d[0], region
    st.maxnum = rng.choice((24, 40, 60, 90, 120, 160, 220))
    st.inwards = [new_inward(d) for _ in range((st.maxnum - 1) // 16 + 1)]
    STREETS.append(st)
    d[2].append(st)
    return st


def pc_of(st, num):
    return st.outward + " " + st.inwards[min(len(st.inwards) - 1, (num - 1) // 16)]


def new_address(region):
    d = DISTRICTS[region][DIST_PICK[region]()]
    for attempt in range(40):
        st = rng.choice(d[2]) if attempt < 30 else new_street(region, d)
        n = rng.randint(1, st.maxnum)
        flat = rng.randint(1, 12) if (n * 7 + st.id) % 9 == 0 else 0
        key = (st.id, n, flat)
        if key not in USED_ADDR:
            USED_ADDR.add(key)
            return Addr("flat" if flat else "house", st, n, flat, "", pc_of(st, n), region)
    raise RuntimeError("address space exhausted")


def special_address(region, kind, bname, outward_choice=None, town=None):
    """A building (care home, hall, hostel, HMO) with its own number on a street."""
    if outward_choice:
        cands = [d for d in DISTRICTS[region] if d[0] in outward_choice] or DISTRICTS[region]
        d = rng.choice(cands)
    else:
        d = DISTRICTS[region][DIST_PICK[region]()]
    for attempt in range(60):
        st = rng.choice(d[2]) if attempt < 50 else new_street(region, d)
        n = rng.randint(1, st.maxnum)
        if (st.id, n, 0) not in USED_ADDR and (n * 7 + st.id) % 9 != 0:
            USED_ADDR.add((st.id, n, 0))
            break
    return Addr(kind, st, n, "", bname, pc_of(st, n), region)


def room_of(b, room):
    return Addr(b.kind, b.st, b.num, room, b.bname, b.pc, b.region, b.estab)


# ---------------------------------------------------------------------------------------
# Persons
# ---------------------------------------------------------------------------------------

class Person:
    __slots__ = ("pid", "sex", "dob", "dob_o", "dob_real", "culture", "first", "middles", "nick",
                 "nick_w", "alt", "by_middle", "family", "birth_family", "alt_family", "marriage",
                 "sikh_mid", "sikh_clan", "sikh_form", "nhs", "nhs_old", "nhs_merge", "h_starts",
                 "h_addrs", "hh", "kind", "estab", "labels", "restricted", "unreg", "no_nhs",
                 "neutral", "sib_nhs", "extra", "home_region")

    def __init__(self):
        self.dob_real = None
        self.nick = None
        self.nick_w = 1.0
        self.alt = None
        self.by_middle = False
        self.alt_family = None
        self.marriage = None
        self.sikh_mid = None
        self.sikh_clan = False
        self.sikh_form = 0
        self.nhs_old = None
        self.nhs_merge = 0
        self.kind = "normal"
        self.estab = None
        self.labels = set()
        self.restricted = False
        self.unreg = False
        self.no_nhs = False
        self.neutral = False
        self.sib_nhs = None
        self.extra = None
        self.middles = []


PERSONS = []
HOUSEHOLDS = []
NHS_USED = set()

AGE_BANDS = [(18, 25, 8.3), (25, 30, 8.7), (30, 35, 8.9), (35, 40, 8.6), (40, 45, 8.1),
             (45, 50, 8.0), (50, 55, 8.7), (55, 60, 8.6), (60, 65, 7.5), (65, 70, 6.3),
             (70, 75, 6.2), (75, 80, 4.7), (80, 85, 3.2), (85, 90, 1.9), (90, 101, 1.0)]
AGE_PICK = Picker(AGE_BANDS, weights=[b[2] for b in AGE_BANDS])


def sample_age(lo=18.0, hi=101.0):
    for _ in range(60):
        b = AGE_PICK()
        a = b[0] + rnd() * (b[1] - b[0])
        if lo <= a < hi:
            return a
    return lo + rnd() * (hi - lo)


def dob_for_age(age):
    o = NOW_O - int(age * YEAR) - rng.randint(0, 30)
    return o


def age_at(p, o):
    return (o - p.dob_o) / YEAR


def nhs_check(d9):
    s = 0
    for i, c in enumerate(d9):
        s += (ord(c) - 48) * (10 - i)
    r = 11 - s % 11
    if r == 11:
        return 0
    if r == 10:
        return None
    return r


def valid_nhs(s):
    return len(s) == 10 and s.isdigit() and nhs_check(s[:9]) == ord(s[9]) - 48


def new_nhs():
    while True:
        if rnd() < 0.5:
            base = rng.randrange(400000000, 500000000)
        else:
            base = rng.randrange(600000000, 800000000)
        d9 = "%09d" % base
        c = nhs_check(d9)
        if c is None:
            continue
        s = d9 + str(c)
        if s not in NHS_USED:
            NHS_USED.add(s)
            return s


def cohort(year):
    return 0 if year < 1950 else 1 if year < 1970 else 2 if year < 1990 else 3


def brit_first(sex, year):
    c = cohort(year)
    if rnd() < 0.78:
        return (P_BRIT_M if sex == "M" else P_BRIT_F)[c]()
    return rng.choice(ALL_BRIT_M if sex == "M" else ALL_BRIT_F)


def gen_first(culture, sex, year):
    """Returns (first, middles, sikh_mid)."""
    m = sex == "M"
    mids = []
    if culture in ("british", "welsh", "irish"):
        if culture == "british" or rnd() < 0.5:
            first = brit_first(sex, year)
        else:
            first = P[culture + ("_m" if m else "_f")]()
        r = rnd()
        if r < 0.55:
            mids = [rng.choice(BRIT_MID_M if m else BRIT_MID_F)]
        elif r < 0.62:
            mids = [rng.choice(BRIT_MID_M if m else BRIT_MID_F), brit_first(sex, year)]
        if mids and mids[0] == first:
            mids = []
        return first, mids, None
    if culture == "muslim":
        if m:
            if rnd() < 0.35:
                first = rng.choices(MOHAMMEDS, MOHAMMED_W)[0]
                mids = [P["muslim_m"]()]
            else:
                first = P["muslim_m"]()
                if rnd() < 0.15:
                    mids = [P["muslim_m"]()]
        else:
            first = P["muslim_f"]()
            if rnd() < 0.12:
                mids = [P["muslim_f"]()]
        if mids and mids[0] == first:
            mids = []
        return first, mids, None
    if culture == "sikh":
        return P["sikh_m" if m else "sikh_f"](), [], ("Singh" if m else "Kaur")
    if culture == "hindu":
        first = P["hindu_m" if m else "hindu_f"]()
        if rnd() < 0.3:
            mids = [rng.choice(HINDU_MID)]
        return first, mids, None
    if culture == "african":
        if rnd() < 0.3:
            first = brit_first(sex, year)
        else:
            first = P["african_m" if m else "african_f"]()
        if rnd() < 0.4:
            mids = [P["african_m" if m else "african_f"]()]
            if mids[0] == first:
                mids = []
        return first, mids, None
    if culture == "polish":
        first = P["polish_m" if m else "polish_f"]()
        if rnd() < 0.1:
            mids = [P["polish_m" if m else "polish_f"]()]
            if mids[0] == first:
                mids = []
        return first, mids, None
    # chinese
    return P["chinese_m" if m else "chinese_f"](), [], None


def polish_form(fam, sex):
    if sex == "F":
        for a, b in (("dzki", "dzka"), ("ski", "ska"), ("cki", "cka")):
            if fam.endswith(a):
                return fam[:-len(a)] + b
    return fam


def gen_family(culture, sex):
    if culture == "british":
        r = rnd()
        if r < 0.30:
            return P_BRIT_SUR()
        if r < 0.992:
            return rng.choice(BRIT_TAIL)
        a, b = P_BRIT_SUR(), rng.choice(BRIT_TAIL)
        return a + "-" + b if rnd() < 0.5 else b + "-" + a
    if culture == "muslim":
        if sex == "F" and rnd() < 0.35:
            return wchoice(MUSLIM_F_SUR)
        return P["muslim_sur"]()
    if culture == "sikh":
        return P["sikh_clan"]()
    if culture == "polish":
        return polish_form(P["polish_sur"](), sex)
    if culture in ("welsh", "irish"):
        if rnd() < 0.25:
            return rng.choice(BRIT_TAIL) if rnd() < 0.5 else P_BRIT_SUR()
    return P[culture + "_sur"]()


def set_derived(p):
    """nickname / alternative forms / known-by-middle from the current names."""
    p.nick = None
    p.alt = None
    p.by_middle = False
    nk = NICK.get(p.first)
    if nk and rnd() < 0.35:
        p.nick = nk[0] if rnd() < 0.6 else rng.choice(nk)
    if p.first in ALT and rnd() < 0.5:
        p.alt = ALT[p.first]
    if p.culture == "chinese" and rnd() < 0.4:
        p.alt = rng.choice(CHI_ENG_M if p.sex == "M" else CHI_ENG_F)
    if p.middles and p.culture in ("british", "welsh", "irish", "african") and rnd() < 0.05:
        p.by_middle = True


def new_person(culture, sex, dob_o, family=None, first=None):
    p = Person()
    p.pid = len(PERSONS) + 1
    p.culture, p.sex, p.dob_o = culture, sex, dob_o
    p.dob = date.fromordinal(dob_o)
    f, mids, sm = gen_first(culture, sex, p.dob.year)
    p.first = first or f
    p.middles = mids
    p.sikh_mid = sm
    if family is None:
        family = gen_family(culture, sex)
    p.family = p.birth_family = family
    if culture == "sikh":
        if rnd() < 0.3:
            p.family = p.birth_family = sm
        else:
            p.sikh_clan = True
        p.sikh_form = rng.choices((0, 1, 2, 3), (45, 25, 23, 7))[0]
    p.nhs = new_nhs()
    set_derived(p)
    if culture in ("muslim", "african", "polish", "chinese", "hindu", "sikh") \
            and NOW.year - p.dob.year > 25 and rnd() < 0.015:
        p.dob_real = p.dob
        p.dob = date(p.dob.year, 1, 1)
        p.dob_o = p.dob.toordinal()
        p.labels.add("dob_registered_jan1")
    if rnd() < 0.0015:
        p.nhs_old = new_nhs()
        p.nhs_merge = NOW_O - rng.randint(200, 6000)
    PERSONS.append(p)
    return p


def set_family(p, fam):
    p.family = p.birth_family = fam
    if p.culture == "sikh":
        p.sikh_clan = fam not in ("Singh", "Kaur")


def hist_moves(age):
    if age < 30:
        w = (30, 40, 20, 10)
    elif age < 50:
        w = (40, 35, 18, 7)
    elif age < 70:
        w = (60, 30, 8, 2)
    else:
        w = (72, 24, 4, 0)
    return rng.choices((0, 1, 2, 3), w)[0]


def other_region(region):
    if rnd() < 0.85:
        return region
    return rng.choices(REGIONS, REGION_W)[0]


def make_history(region, start_o, head_age):
    """Shared household address history: (starts, addrs), last is current."""
    k = hist_moves(head_age)
    lo = max(start_o, NOW_O - int(30 * YEAR))
    hi = NOW_O - 30
    if hi - lo < 400:
        k = 0
    dates = sorted(rng.randint(lo, hi) for _ in range(k))
    addrs = [new_address(other_region(region)) for _ in range(k)]
    addrs.append(new_address(region))
    return [NEG_INF] + dates, addrs


def personal_history(pre, switch_o, starts, addrs):
    """Lived at `pre` until switch_o, then followed the household history."""
    s2, a2 = [NEG_INF], [pre]
    for i, (s, a) in enumerate(zip(starts, addrs)):
        end = starts[i + 1] if i + 1 < len(starts) else 10 ** 9
        if end > switch_o:
            s2.append(max(s, switch_o))
            a2.append(a)
    return s2, a2


def set_hist(p, starts, addrs):
    p.h_starts, p.h_addrs = list(starts), list(addrs)
    p.home_region = addrs[-1].region


def addr_at(p, o):
    i = bisect.bisect_right(p.h_starts, o) - 1
    return p.h_addrs[i if i >= 0 else 0]


CULTURE_MIX = {
    "BHAM": [("british", 62), ("muslim", 16), ("sikh", 5), ("hindu", 4), ("african", 6),
             ("polish", 3), ("irish", 2.5), ("chinese", 1), ("welsh", 0.5)],
    "COV": [("british", 70), ("muslim", 6), ("sikh", 5), ("hindu", 6), ("african", 5),
            ("polish", 4), ("irish", 2.5), ("chinese", 1.5), ("welsh", 0.5)],
    "WORCS": [("british", 88), ("muslim", 2), ("sikh", 0.5), ("hindu", 1), ("african", 1),
              ("polish", 4), ("irish", 1.5), ("chinese", 0.5), ("welsh", 1.5)],
    "HEREF": [("british", 86), ("muslim", 0.5), ("sikh", 0.2), ("hindu", 0.5), ("african", 0.5),
              ("polish", 6), ("irish", 1.5), ("chinese", 0.5), ("welsh", 4.5)],
}


def pick_culture(region):
    return wchoice(CULTURE_MIX[region])


def pick_region():
    return rng.choices(REGIONS, REGION_W)[0]


def new_household(members, starts=None, addrs=None):
    hid = len(HOUSEHOLDS)
    HOUSEHOLDS.append(members)
    for m in members:
        m.hh = hid
        if starts is not None:
            set_hist(m, starts, addrs)
    return hid


def marry(husband, wife, union_o):
    """Wife (or second partner) may take the first partner's surname at union_o."""
    if wife.sex != "F" or husband.sex != "M":
        return
    c = wife.culture
    if c == "sikh":
        if wife.sikh_clan and husband.sikh_clan and rnd() < 0.7:
            wife.family = husband.family
            wife.marriage = union_o
        return
    p_take = {"british": 0.75, "welsh": 0.75, "irish": 0.75, "african": 0.7, "polish": 0.8,
              "hindu": 0.8, "muslim": 0.45, "chinese": 0.25}[c]
    if rnd() < p_take:
        if c == "polish" and husband.culture == "polish":
            wife.family = polish_form(husband.family, "F")
        elif c in ("british", "welsh", "irish") and rnd() < 0.05 \
                and "-" not in wife.birth_family and "-" not in husband.family:
            wife.family = wife.birth_family + "-" + husband.family
        else:
            wife.family = husband.family
        if wife.family != wife.birth_family:
            wife.marriage = union_o
            if c == "muslim" and wife.birth_family in ("Begum", "Bibi"):
                wife.alt_family = wife.birth_family


def couple_ages(head_age, gap_sd=4.0, mean_gap=2.0):
    a = head_age - mean_gap + rng.gauss(0, gap_sd)
    return max(18.0, min(100.0, a))


# ---- household builders -----------------------------------------------------------------

def build_single(region, label_twin=None):
    culture = pick_culture(region)
    age = sample_age()
    sex = "M" if rnd() < 0.5 else "F"
    p = new_person(culture, sex, dob_for_age(age))
    if sex == "F" and age > 30 and rnd() < 0.4:     # divorced/widowed, kept married name
        p.birth_family = gen_family(culture, "F")
        if p.birth_family != p.family:
            p.marriage = NOW_O - int(rng.uniform(3, max(4, age - 20)) * YEAR)
    s, a = make_history(region, p.dob_o + int(18 * YEAR), age)
    new_household([p], s, a)
    return [p]


def make_couple(region, head_age=None, culture=None, neutral=False):
    culture = culture or pick_culture(region)
    if head_age is None:
        head_age = sample_age(20, 99)
    same_sex = rnd() < 0.03 and not neutral
    if neutral:
        m_form, f_form, m_short, f_short = rng.choice(NEUTRAL)
        h = new_person(culture, "M", dob_for_age(head_age))
        w_age = max(18.0, head_age + rng.choice((-1, 1)) * rng.uniform(0.5, 6))
        w_culture = culture
    else:
        h = new_person(culture, "M" if not same_sex or rnd() < 0.5 else "F", dob_for_age(head_age))
        w_age = couple_ages(head_age)
        w_culture = culture if rnd() < 0.9 else pick_culture(region)
    w_sex = h.sex if same_sex else "F"
    if h.sex == "F":
        w_sex = "F" if same_sex else "M"
    w = new_person(w_culture, w_sex, dob_for_age(w_age))
    if neutral:
        for q, form, short in ((h, m_form, m_short), (w, f_form, f_short)):
            if rnd() < 0.4:
                q.first, q.nick = short, None
            else:
                q.first, q.nick = form, short
            q.nick_w = 8.0
            q.neutral = True
            q.by_middle = False
            q.alt = None
            q.labels.add("neutral_name_spouses")
    younger = min(head_age, w_age)
    union_o = NOW_O - int(rng.uniform(0, max(0.5, min(younger - 18, 50))) * YEAR)
    if neutral:
        w.family = h.family
        if w.birth_family != h.family:
            w.marriage = union_o
    elif rnd() < 0.55 + 0.3 * (younger > 40):
        marry(h, w, union_o)
    s, a = make_history(region, union_o, max(head_age, w_age))
    for q in (h, w):
        pre = new_address(other_region(region))
        st2, ad2 = personal_history(pre, union_o, s, a)
        set_hist(q, st2, ad2)
    return h, w, union_o, s, a


def build_couple(region):
    neutral = rnd() < 0.018
    culture = "british" if neutral and rnd() < 0.85 else None
    h, w, _, _, _ = make_couple(region, culture=culture, neutral=neutral)
    new_household([h, w])
    return [h, w]


def twin_names(culture, sexes, year):
    """First names for a multiple-birth set."""
    key_c = culture if culture in TWIN_PAIRS else "british"
    n = len(sexes)
    names = [None] * n
    r = rnd()
    if n == 2:
        key = "MM" if sexes == ["M", "M"] else "FF" if sexes == ["F", "F"] else "MF"
        if r < 0.55:
            a, b = rng.choice(TWIN_PAIRS[key_c][key])
            if key == "MF" and sexes[0] == "F":
                a, b = b, a
            return [a, b]
    if r < 0.8:
        base = gen_first(culture, sexes[0], year)[0]
        names[0] = base
        for i in range(1, n):
            for _ in range(40):
                cand = gen_first(culture, sexes[i], year)[0]
                if cand[0] == base[0] and cand not in names:
                    names[i] = cand
                    break
    for i in range(n):
        if names[i] is None:
            names[i] = gen_first(culture, sexes[i], year)[0]
    return names


def make_children(region, culture, family, father, mother, n, eldest_age, starts, addrs,
                  allow_twins=True):
    kids = []
    parent_age_min = min(age_at(q, NOW_O) for q in (father, mother) if q is not None)
    twin_slot = -1
    mult = 1
    if allow_twins and rnd() < 0.11:
        twin_slot = rng.randrange(n)
        mult = 3 if rnd() < 0.03 else 2
    age = eldest_age
    for slot in range(n):
        if slot:
            age = max(18.0, age - rng.uniform(1.0, 7.0))
        if age > parent_age_min - 18:
            age = max(18.0, parent_age_min - 18 - rnd())
        if slot == twin_slot:
            dob_o = dob_for_age(age)
            r = rnd()
            if r < 0.67:
                s0 = "M" if rnd() < 0.5 else "F"
                sexes = [s0] * mult
            else:
                sexes = ["M", "F"] + (["M" if rnd() < 0.5 else "F"] if mult == 3 else [])
                rng.shuffle(sexes)
            year = date.fromordinal(dob_o).year
            names = twin_names(culture, sexes, year)
            set_ = []
            for sx, nm in zip(sexes, names):
                k = new_person(culture, sx, dob_o, family)
                k.first = nm
                set_derived(k)
                set_.append(k)
            if mult == 2 and sexes[0] == sexes[1] and set_[0].middles and rnd() < 0.3:
                set_[1].middles = list(set_[0].middles)
            lab = "twin" if mult == 2 else "triplet"
            for k in set_:
                k.labels.add(lab)
                if len(set(sexes)) > 1:
                    k.labels.add("twin_opposite_sex")
            if rnd() < 0.10:
                q = rng.choice(set_)
                q.no_nhs = True
                q.labels.add("twin_no_nhs")
            if rnd() < 0.08:
                a, b = rng.sample(set_, 2)
                a.sib_nhs = b
                a.labels.add("twin_nhs_of_sibling")
            kids.extend(set_)
        else:
            k = new_person(culture, "M" if rnd() < 0.5 else "F", dob_for_age(age), family)
            kids.append(k)
    for k in kids:
        set_hist(k, starts, addrs)
    # parent and child with the same given name(s)
    singles = [k for k in kids if "twin" not in k.labels and "triplet" not in k.labels]
    for parent, sx, prob in ((father, "M", 0.07), (mother, "F", 0.015)):
        if parent is None or parent.culture in ("sikh", "chinese"):
            continue
        cands = [k for k in singles if k.sex == sx]
        if cands and rnd() < prob:
            k = cands[0]
            if k.dob_o - parent.dob_o < int(18 * YEAR):
                continue
            k.first = parent.first
            if rnd() < 0.7:
                k.middles = list(parent.middles)
            set_derived(k)
            k.labels.add("parent_child_same_name")
            parent.labels.add("parent_child_same_name")
            if rnd() < 0.30:
                k.extra = [("social" if region == "BHAM" and rnd() < 0.6 else "ambulance",
                            {"nhs": parent.nhs, "dob_missing": rnd() < 0.4})]
                k.labels.add("child_record_has_parent_nhs")
    return kids


def n_kids():
    return rng.choices((1, 2, 3), (55, 35, 10))[0]


def build_family(region):
    culture = pick_culture(region)
    eldest = 18 + 17 * rnd() ** 1.6
    m_age = eldest + rng.uniform(19, 40)
    f_age = max(m_age - 2, m_age + rng.gauss(2, 3))
    if f_age > 100 or m_age > 100:
        m_age, f_age = min(m_age, 95), min(f_age, 97)
    h = new_person(culture, "M", dob_for_age(f_age))
    w = new_person(culture if rnd() < 0.92 else pick_culture(region), "F", dob_for_age(m_age))
    union_o = NOW_O - int((eldest + rng.uniform(0, 4)) * YEAR)
    marry(h, w, union_o) if rnd() < 0.8 else None
    s, a = make_history(region, union_o, f_age)
    for q in (h, w):
        pre = new_address(other_region(region))
        st2, ad2 = personal_history(pre, union_o, s, a)
        set_hist(q, st2, ad2)
    fam = h.family
    if culture == "british" and w.marriage is None and rnd() < 0.15 \
            and "-" not in w.family and "-" not in h.family:
        fam = w.family + "-" + h.family
    kids = make_children(region, culture, fam, h, w, n_kids(), eldest, s, a)
    new_household([h, w] + kids)
    return [h, w] + kids


def build_lone(region):
    culture = pick_culture(region)
    eldest = 18 + 17 * rnd() ** 1.6
    p_age = eldest + rng.uniform(18, 40)
    sex = "F" if rnd() < 0.8 else "M"
    par = new_person(culture, sex, dob_for_age(min(p_age, 97)))
    if sex == "F" and rnd() < 0.5:
        par.birth_family = gen_family(culture, "F")
        if par.birth_family != par.family:
            par.marriage = NOW_O - int((eldest + rng.uniform(0, 5)) * YEAR)
    s, a = make_history(region, par.dob_o + int(18 * YEAR), p_age)
    set_hist(par, s, a)
    kids = make_children(region, culture, par.family, par if sex == "M" else None,
                         par if sex == "F" else None, n_kids(), eldest, s, a)
    new_household([par] + kids)
    return [par] + kids


def build_multigen(region):
    culture = wchoice([("muslim", 60), ("sikh", 25), ("hindu", 15)])
    gk_age = 18 + 10 * rnd()
    p_age = gk_age + rng.uniform(20, 32)
    g_age = min(98.0, p_age + rng.uniform(20, 30))
    gf = new_person(culture, "M", dob_for_age(g_age))
    gm = new_person(culture, "F", dob_for_age(max(18.0, g_age - rng.uniform(0, 8))))
    marry(gf, gm, gm.dob_o + int(rng.uniform(18, 25) * YEAR))
    son = new_person(culture, "M", dob_for_age(p_age), gf.family)
    dil = new_person(culture, "F", dob_for_age(max(18.0, p_age - rng.uniform(0, 6))))
    union_o = NOW_O - int((gk_age + rng.uniform(0, 3)) * YEAR)
    marry(son, dil, union_o)
    s, a = make_history(region, NOW_O - int(25 * YEAR), g_age)
    for q in (gf, gm, son):
        set_hist(q, s, a)
    pre = new_address(region)
    st2, ad2 = personal_history(pre, union_o, s, a)
    set_hist(dil, st2, ad2)
    if culture == "sikh" and son.sikh_clan != gf.sikh_clan:
        set_family(son, gf.family)
    kids = make_children(region, culture, son.family, son, dil, n_kids(), gk_age, s, a)
    members = [gf, gm, son, dil] + kids
    new_household(members)
    return members


HMO_MIX = [("british", 40), ("polish", 22), ("african", 10), ("muslim", 10), ("irish", 5),
           ("hindu", 5), ("chinese", 4), ("sikh", 4)]


def build_hmo(region, cap):
    n = min(cap, rng.randint(4, 9))
    house = special_address(region, "hmo", "")
    house.kind = "house"
    est = "hmo:%d" % len(HOUSEHOLDS)
    members = []
    for i in range(n):
        c = wchoice(HMO_MIX)
        p = new_person(c, "M" if rnd() < 0.6 else "F", dob_for_age(rng.uniform(19, 45)))
        p.kind, p.estab = "hmo", est
        room = room_of(house, ("Room %d" % (i + 1)) if rnd() < 0.3 else "")
        room.kind = "hmo"
        pre = new_address(other_region(region))
        set_hist(p, [NEG_INF, NOW_O - rng.randint(30, 1500)], [pre, room])
        p.labels.add("hmo")
        members.append(p)
    new_household(members)
    return members


def build_twins_apart(region):
    culture = pick_culture(region)
    age = sample_age(24, 95)
    dob_o = dob_for_age(age)
    sexes = ["M", "M"] if rnd() < 0.33 else ["F", "F"] if rnd() < 0.5 else ["M", "F"]
    names = twin_names(culture, sexes, date.fromordinal(dob_o).year)
    family = gen_family(culture, "M")
    child_home = new_address(region)
    out = []
    for sx, nm in zip(sexes, names):
        r2 = other_region(region)
        t = new_person(culture, sx, dob_o, family)
        t.first = nm
        set_derived(t)
        t.labels.update(("twin", "twin_apart"))
        if sexes[0] != sexes[1]:
            t.labels.add("twin_opposite_sex")
        leave_o = dob_o + int(rng.uniform(18, 26) * YEAR)
        if rnd() < 0.55:
            # lives with a partner now
            sp = new_person(pick_culture(r2) if rnd() < 0.3 else culture, "F" if sx == "M" else "M",
                            dob_for_age(couple_ages(age)))
            union_o = max(leave_o, NOW_O - int(rng.uniform(0, max(0.5, age - 22)) * YEAR))
            if sx == "M":
                marry(t, sp, union_o)
            else:
                marry(sp, t, union_o)
            s, a = make_history(r2, union_o, age)
            st2, ad2 = personal_history(child_home, leave_o, s, a)
            set_hist(t, st2, ad2)
            st3, ad3 = personal_history(new_address(r2), union_o, s, a)
            set_hist(sp, st3, ad3)
            new_household([t, sp])
            out += [t, sp]
        else:
            s, a = make_history(r2, leave_o, age)
            st2, ad2 = personal_history(child_home, leave_o, s, a)
            set_hist(t, st2, ad2)
            new_household([t])
            out.append(t)
    if rnd() < 0.10:
        out[0].no_nhs = True
        out[0].labels.add("twin_no_nhs")
    return out


def build_care_home(region, cap):
    n = min(cap, rng.randint(15, 60))
    bname = "%s %s" % (rng.choice(HOME_NAMES), rng.choice(HOME_KIND))
    b = special_address(region, "care", bname)
    est = "care:%d" % len(HOUSEHOLDS)
    b.estab = est
    members = []
    for i in range(n):
        c = pick_culture(region) if rnd() < 0.5 else "british"
        sex = "F" if rnd() < 0.7 else "M"
        p = new_person(c, sex, dob_for_age(sample_age(72, 101)))
        p.kind, p.estab = "care", est
        if sex == "F" and rnd() < 0.85:
            bf = gen_family(c, "F")
            if bf != p.family:
                p.birth_family = bf
                p.marriage = p.dob_o + int(rng.uniform(19, 30) * YEAR)
        room = room_of(b, "Room %d" % (i + 1))
        prev_s, prev_a = make_history(region if rnd() < 0.9 else other_region(region),
                                      p.dob_o + int(30 * YEAR), 70)
        prev_s.append(NOW_O - rng.randint(60, 1800))
        prev_a.append(room)
        set_hist(p, prev_s, prev_a)
        p.labels.add("care_home")
        members.append(p)
    # same surname, similar age (and sometimes the same name)
    for _ in range(max(1, n // 15)):
        if n < 2:
            break
        a, bq = rng.sample(members, 2)
        fam = rng.choice(COMMON_SUR.get(a.culture, BRIT_SUR[:10]))
        if a.culture == "polish":
            fam = polish_form(fam, a.sex)
        a.family = fam
        if a.marriage is None:
            a.birth_family = fam
        bq.culture = a.culture
        bq.family = polish_form(fam, bq.sex) if a.culture == "polish" else fam
        if bq.marriage is None:
            bq.birth_family = bq.family
        bq.dob_o = min(NOW_O - int(72 * YEAR), a.dob_o + rng.randint(-5 * 365, 5 * 365))
        bq.dob = date.fromordinal(bq.dob_o)
        if rnd() < 0.25 and a.sex == bq.sex:
            bq.first = a.first
            set_derived(bq)
    new_household(members)
    return members


HALL_MIX = [("british", 60), ("muslim", 10), ("chinese", 8), ("hindu", 6), ("sikh", 5),
            ("african", 7), ("polish", 2), ("irish", 1), ("welsh", 1)]


def build_hall(region, cap):
    n = min(cap, rng.randint(40, 150))
    outs, town = UNI[region]
    b = special_address(region, "hall", rng.choice(HALL_NAMES), outward_choice=outs)
    est = "hall:%d" % len(HOUSEHOLDS)
    b.estab = est
    members = []
    blocks = max(1, n // 8)
    for i in range(n):
        c = wchoice(HALL_MIX)
        p = new_person(c, "M" if rnd() < 0.45 else "F", dob_for_age(18 + 4 * rnd() ** 2))
        p.kind, p.estab = "student", est
        room = room_of(b, "Flat %d%s" % (i % blocks + 1, "ABCDEFGH"[i // blocks % 8]))
        home = new_address(pick_region())
        move_in = date(2023 if rnd() < 0.75 else 2022, 9, rng.randint(16, 28)).toordinal()
        set_hist(p, [NEG_INF, move_in], [home, room])
        p.labels.add("student_hall")
        members.append(p)
    pool = [("Patel", "hindu"), ("Khan", "muslim"), ("Smith", "british"), ("Singh", "sikh"),
            ("Begum", "muslim"), ("Wang", "chinese"), ("Li", "chinese"), ("Jones", "british"),
            ("Ali", "muslim"), ("Ahmed", "muslim"), ("Kaur", "sikh"), ("Williams", "british")]
    for _ in range(rng.randint(2, 4)):
        a, bq = rng.sample(members, 2)
        fam, c = rng.choice(pool)
        if fam == "Singh":
            a.sex = bq.sex = "M"
        if fam in ("Kaur", "Begum"):
            a.sex = bq.sex = "F"
        for q in (a, bq):
            q.culture = c
            q.first, q.middles, q.sikh_mid = gen_first(c, q.sex, q.dob.year)
            set_family(q, fam)
            if c == "sikh":
                q.sikh_clan = False
            set_derived(q)
        bq.dob_o = a.dob_o + rng.randint(-700, 700)
        bq.dob_o = min(bq.dob_o, NOW_O - int(18 * YEAR) - 1)
        bq.dob = date.fromordinal(bq.dob_o)
        if rnd() < 0.2:
            bq.first = a.first
            set_derived(bq)
    new_household(members)
    return members


def build_nfa(region):
    culture = pick_culture(region)
    p = new_person(culture, "M" if rnd() < 0.8 else "F", dob_for_age(rng.uniform(19, 62)))
    p.kind = "nfa"
    s, a = make_history(region, p.dob_o + int(18 * YEAR), 30)
    s.append(NOW_O - rng.randint(60, 2500))
    a.append(NFA_ADDR[region])
    set_hist(p, s, a)
    p.home_region = region
    p.labels.add("no_fixed_abode")
    new_household([p])
    return [p]


def build_population(n):
    quota = {"care": int(0.008 * n), "hall": int(0.012 * n), "nfa": int(0.0015 * n)}
    for _ in range(quota["nfa"]):
        build_nfa(wchoice([("BHAM", 70), ("COV", 20), ("WORCS", 10)]))
    left = quota["care"]
    while left > 0:
        left -= len(build_care_home(pick_region(), left))
    left = quota["hall"]
    while left > 0:
        left -= len(build_hall(wchoice([("BHAM", 60), ("COV", 30), ("WORCS", 10)]), left))
    types = [("single", 30), ("couple", 35.5), ("family", 13), ("lone", 5.5), ("multigen", 3),
             ("hmo", 0.6), ("twins_apart", 0.45)]
    while True:
        rem = n - len(PERSONS)
        if rem <= 0:
            break
        region = pick_region()
        t = wchoice(types)
        if rem < 12 and t != "single":
            t = "couple" if rem >= 2 and rnd() < 0.5 else "single"
        if t == "single":
            build_single(region)
        elif t == "couple":
            build_couple(region)
        elif t == "family":
            build_family(region)
        elif t == "lone":
            build_lone(region)
        elif t == "multigen":
            build_multigen(region if region in ("BHAM", "COV") else "BHAM")
        elif t == "hmo":
            build_hmo(region, rem)
        else:
            build_twins_apart(region)
    # Households overshooting the target: drop whole trailing households (keeps sets intact)
    while len(PERSONS) > n:
        hh = HOUSEHOLDS.pop()
        for m in hh:
            PERSONS.remove(m)
    while len(PERSONS) < n:
        build_single(pick_region())
    for i, p in enumerate(PERSONS):
        p.pid = i + 1


def force_namesakes(n):
    """Pairs of different persons with a common name and the same birth year (or DOB)."""
    singles = [h[0] for h in HOUSEHOLDS if len(h) == 1 and h[0].kind == "normal"
               and not h[0].labels]
    pool = [p for p in PERSONS if p.kind == "normal" and p.culture in COMMON_SUR
            and not p.neutral and "twin" not in p.labels and p.marriage is None]
    k = int(0.002 * n)
    used = set()
    for _ in range(k):
        if not singles:
            break
        a = rng.choice(pool)
        b = singles.pop(rng.randrange(len(singles)))
        if b.pid in used or a.pid in used or a is b or a.sex != b.sex:
            continue
        used.update((a.pid, b.pid))
        # give A a common name of its culture first
        fam = rng.choice(COMMON_SUR[a.culture])
        if a.culture == "polish":
            fam = polish_form(fam, a.sex)
        hh = HOUSEHOLDS[a.hh]
        for m in hh:          # keep the household's surname consistent
            if m.family == a.family and m is not a and m.marriage is None:
                set_family(m, fam)
            elif m.family == a.family and m is not a:
                m.family = fam
        set_family(a, fam) if a.marriage is None else None
        b.culture = a.culture
        b.first, b.middles, b.sikh_mid = a.first, ([] if rnd() < 0.5 else list(a.middles)), a.sikh_mid
        set_family(b, a.family)
        b.sikh_form = rng.choices((0, 1, 2, 3), (45, 25, 23, 7))[0]
        set_derived(b)
        if rnd() < 0.25:
            b.dob_o = a.dob_o
        else:
            b.dob_o = date(a.dob.year, 1, 1).toordinal() + rng.randint(0, 364)
            b.dob_o = min(b.dob_o, NOW_O - int(18 * YEAR) - 1)
        b.dob = date.fromordinal(b.dob_o)
        b.dob_real = None
        # move B to A's area (different address)
        region = a.h_addrs[-1].region
        if b.h_addrs[-1].region != region:
            b.h_addrs[-1] = new_address(region)
            b.home_region = region


# ---------------------------------------------------------------------------------------
# Contributors and rendering
# ---------------------------------------------------------------------------------------

KP = {
    "gp": dict(nhs_miss=.002, nhs_transp=.0004, nhs_typo=.0002, nhs_hh=.0002, dob_miss=.0003,
               dob_swap=.0005, dob_err=.0008, dob_est=.0002, sex_miss=.0005, sex_wrong=.0003,
               pc_miss=.002, pc_typo=.002, addr_miss=.001, typo=.005, nick=.03, middles=.85,
               swap=.001, translit=.02, phon=.003, stale=0.0, informal=.2, ws=.003, abbr=.05,
               town=.97, dbl=.5, mc=.03, ph=0.0),
    "acute": dict(nhs_miss=.015, nhs_transp=.002, nhs_typo=.001, nhs_hh=.001, dob_miss=.001,
                  dob_swap=.002, dob_err=.003, dob_est=.002, sex_miss=.002, sex_wrong=.001,
                  pc_miss=.006, pc_typo=.004, addr_miss=.004, typo=.012, nick=.06, middles=.6,
                  swap=.004, translit=.10, phon=.012, stale=.45, informal=.6, ws=.01, abbr=.3,
                  town=.9, dbl=1.0, mc=.12, ph=.004),
    "mh": dict(nhs_miss=.012, nhs_transp=.002, nhs_typo=.001, nhs_hh=.001, dob_miss=.001,
               dob_swap=.002, dob_err=.003, dob_est=.002, sex_miss=.002, sex_wrong=.001,
               pc_miss=.006, pc_typo=.004, addr_miss=.004, typo=.012, nick=.20, middles=.5,
               swap=.004, translit=.10, phon=.015, stale=.35, informal=.8, ws=.01, abbr=.3,
               town=.85, dbl=1.0, mc=.12, ph=0.0),
    "community": dict(nhs_miss=.03, nhs_transp=.002, nhs_typo=.001, nhs_hh=.001, dob_miss=.002,
                      dob_swap=.002, dob_err=.003, dob_est=.002, sex_miss=.003, sex_wrong=.001,
                      pc_miss=.01, pc_typo=.005, addr_miss=.006, typo=.015, nick=.15, middles=.5,
                      swap=.004, translit=.10, phon=.015, stale=.40, informal=.8, ws=.015,
                      abbr=.35, town=.85, dbl=1.0, mc=.12, ph=0.0),
    "social": dict(nhs_miss=.15, nhs_transp=.003, nhs_typo=.002, nhs_hh=.003, dob_miss=.015,
                   dob_swap=.004, dob_err=.005, dob_est=.01, sex_miss=.01, sex_wrong=.002,
                   pc_miss=.02, pc_typo=.008, addr_miss=.01, typo=.02, nick=.30, middles=.4,
                   swap=.006, translit=.15, phon=.04, stale=.30, informal=1.0, ws=.03, abbr=.4,
                   town=.7, dbl=1.3, mc=.15, ph=0.0),
    "ambulance": dict(nhs_miss=.35, nhs_transp=.004, nhs_typo=.003, nhs_hh=.004, dob_miss=.04,
                      dob_swap=.006, dob_err=.012, dob_est=.03, sex_miss=.015, sex_wrong=.003,
                      pc_miss=.08, pc_typo=.012, addr_miss=.05, typo=.03, nick=.35, middles=.15,
                      swap=.01, translit=.18, phon=.08, stale=1.0, informal=1.0, ws=.02, abbr=.5,
                      town=.8, dbl=1.3, mc=.18, ph=.025),
}

# code, kind, region, date format, upper, postcode without space, keeps diacritics,
# naive title case, address separator, record id prefix, first id
SOURCE_SPEC = [
    ("M85001", "gp", "BHAM", "iso", False, 0.0, 0.3, 0.0, ", ", "", 100000),
    ("M86010", "gp", "COV", "uk", False, 0.0, 0.0, 0.0, ", ", "", 500000),
    ("M81026", "gp", "WORCS", "uk", True, 0.0, 0.0, 0.0, ", ", "", 20000),
    ("M81082", "gp", "HEREF", "iso", False, 0.02, 0.0, 0.2, ", ", "", 70000),
    ("RRK", "acute", "BHAM", "iso", True, 0.0, 0.0, 0.0, ", ", "K", 1000000),
    ("RKB", "acute", "COV", "uk", False, 0.05, 0.0, 0.4, ", ", "C", 3000000),
    ("RWP", "acute", "WORCS", "uk", True, 0.0, 0.0, 0.0, " ", "W", 400000),
    ("RLQ", "acute", "HEREF", "iso", False, 0.0, 0.0, 0.3, ", ", "H", 800000),
    ("RXT", "mh", "BHAM", "uk", False, 0.0, 0.0, 0.0, ", ", "RXT", 50000),
    ("RYW", "community", "BHAM", "iso", True, 0.10, 0.0, 0.0, ", ", "CH", 200000),
    ("E08000025", "social", "BHAM", "uk", False, 0.03, 0.4, 0.2, ", ", "SC", 10000),
    ("RYA", "ambulance", "ALL", "iso", True, 0.25, 0.0, 0.0, ", ", "EPR", 24000000),
]


class Src:
    pass


SRC = {}
GP_OF, ACUTE_OF = {}, {}
for _code, _kind, _reg, _fmt, _up, _ns, _uni, _nt, _sep, _idp, _id0 in SOURCE_SPEC:
    _s = Src()
    _s.code, _s.kind, _s.region, _s.fmt, _s.upper = _code, _kind, _reg, _fmt, _up
    _s.nospace, _s.unicode, _s.naive, _s.sep, _s.idp, _s.id0 = _ns, _uni, _nt, _sep, _idp, _id0
    for _k, _v in KP[_kind].items():
        setattr(_s, _k, _v)
    SRC[_code] = _s
    if _kind == "gp":
        GP_OF[_reg] = _s
    if _kind == "acute":
        ACUTE_OF[_reg] = _s
MH, COMMUNITY, SOCIAL, AMB = SRC["RXT"], SRC["RYW"], SRC["E08000025"], SRC["RYA"]
ERA = {"acute": date(1995, 1, 1).toordinal(), "mh": date(1998, 1, 1).toordinal(),
       "community": date(2002, 1, 1).toordinal(), "social": date(2005, 1, 1).toordinal(),
       "ambulance": date(2012, 1, 1).toordinal()}

KB_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGH = {}
for _r, _row in enumerate(KB_ROWS):
    for _i, _c in enumerate(_row):
        _n = []
        if _i > 0:
            _n.append(_row[_i - 1])
        if _i < len(_row) - 1:
            _n.append(_row[_i + 1])
        if _r > 0:
            _n += [KB_ROWS[_r - 1][j] for j in (_i, _i + 1) if j < len(KB_ROWS[_r - 1])]
        if _r < 2:
            _n += [KB_ROWS[_r + 1][j] for j in (_i - 1, _i) if 0 <= j < len(KB_ROWS[_r + 1])]
        NEIGH[_c] = _n
DIGIT_NEIGH = {"0": "98", "1": "27", "2": "13", "3": "28", "4": "15", "5": "46", "6": "58",
               "7": "81", "8": "79", "9": "80"}
PC_CONFUSE = {"0": "O", "O": "0", "1": "I", "5": "S", "S": "5", "8": "B", "B": "8", "6": "G",
              "G": "6", "2": "Z", "Z": "2"}


def typo(s):
    idx = [i for i, c in enumerate(s) if c.isalpha()]
    if len(idx) < 3:
        return s
    i = rng.choice(idx[1:])
    c = s[i]
    op = rnd()
    if op < 0.35:
        nb = NEIGH.get(c.lower())
        if nb:
            x = rng.choice(nb)
            return s[:i] + (x.upper() if c.isupper() else x) + s[i + 1:]
        return s
    if op < 0.6:
        return s[:i] + s[i + 1:]
    if op < 0.8:
        return s[:i] + c + s[i:]
    if i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1].lower() != c.lower():
        a, b = (s[i + 1].upper(), c.lower()) if c.isupper() else (s[i + 1], c)
        return s[:i] + a + b + s[i + 2:]
    return s[:i] + s[i + 1:]


def transpose_nhs(s):
    cands = [i for i in range(9) if s[i] != s[i + 1]]
    if not cands:
        return s
    i = rng.choice(cands)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def typo_nhs(s):
    i = rng.randrange(10)
    return s[:i] + rng.choice(DIGIT_NEIGH[s[i]]) + s[i + 1:]


def pc_typo(pc):
    out, inw = pc.split(" ")
    r = rnd()
    if r < 0.35 and inw[1] != inw[2]:
        inw = inw[0] + inw[2] + inw[1]
    elif r < 0.65:
        j = rng.choice((1, 2))
        nb = NEIGH.get(inw[j].lower(), [])
        nb = [x.upper() for x in nb if x.upper() in INWARD_LETTERS]
        if nb:
            inw = inw[:j] + rng.choice(nb) + inw[j + 1:]
    elif r < 0.85:
        inw = rng.choice(DIGIT_NEIGH[inw[0]]) + inw[1:]
    else:
        # outward district digit confused (B13 -> B18) or a letter/digit confusion
        j = len(out) - 1
        if out[j].isdigit():
            out = out[:j] + rng.choice(DIGIT_NEIGH[out[j]]) + out[j + 1:]
        else:
            c = PC_CONFUSE.get(inw[0])
            if c:
                inw = c + inw[1:]
    return out + " " + inw


def fmt_ymd(y, m, d, fmt):
    if fmt == "iso":
        return "%04d-%02d-%02d" % (y, m, d)
    return "%02d/%02d/%04d" % (d, m, y)


def valid_ymd(y, m, d):
    try:
        date(y, m, d)
        return True
    except ValueError:
        return False


def dob_error(y, m, d):
    r = rnd()
    if r < 0.55:
        y += rng.choice((-1, 1))
    elif r < 0.75:
        y = y - y % 10 + int(rng.choice(DIGIT_NEIGH[str(y % 10)]))
    elif r < 0.92:
        ds = str(d).zfill(2)
        j = rng.randrange(2)
        nd = int(ds[:j] + rng.choice(DIGIT_NEIGH[ds[j]]) + ds[j + 1:])
        if 1 <= nd <= 28:
            d = nd
        else:
            d = d + 1 if d < 28 else d - 1
    else:
        m = m + 1 if m < 12 else m - 1
    if not valid_ymd(y, m, d):
        d = min(d, 28)
    return y, m, d


def ws(s):
    if not s:
        return s
    r = rnd()
    if r < 0.4:
        return s + " "
    if r < 0.6:
        return " " + s
    if " " in s:
        return s.replace(" ", "  ", 1)
    return s + "  "


MC_VARIANTS = {"O'": lambda f: [f.replace("'", ""), f.replace("'", " "), "O" + f[2:].lower(),
                                f.replace("'", "`")],
               "Mc": lambda f: ["Mc " + f[2:], "Mac" + f[2:], "Mc" + f[2:].lower()],
               "Mac": lambda f: ["Mc" + f[3:], "Mac " + f[3:], "Mac" + f[3:].lower()]}


def family_variant(p, fam, S, labels):
    """Surname spelling/ordering variants for one record."""
    if p.sikh_mid:
        mid = p.sikh_mid
        form = p.sikh_form if (S.kind == "gp" and rnd() < 0.9) else \
            rng.choices((0, 1, 2, 3), (40, 25, 27, 8))[0]
        if p.sikh_clan and fam not in ("Singh", "Kaur"):
            if form == 0:
                return fam, mid
            if form == 1:
                return fam, None
            labels.add("sikh_naming")
            if form == 2:
                return mid, None
            return mid + " " + fam, None
        return fam, (mid if rnd() < 0.15 else None)
    if p.alt_family and rnd() < (0.03 if S.kind == "gp" else 0.15):
        labels.add("alt_surname")
        return p.alt_family, None
    if "-" in fam and rnd() < 0.24 * S.dbl:
        a, b = fam.split("-", 1)
        labels.add("double_barrelled_variant")
        return rng.choice(((a + " " + b, None), (b + "-" + a, None), (a, None), (b, None),
                           (a + b, None), (b, a))), None
    if p.culture == "polish" and p.sex == "F" and rnd() < (0.01 if S.kind == "gp" else 0.08):
        for fa, ma in (("dzka", "dzki"), ("ska", "ski"), ("cka", "cki")):
            if fam.endswith(fa):
                labels.add("polish_surname_gender")
                return fam[:-len(fa)] + ma, None
    for pre in ("O'", "Mac", "Mc"):
        if fam.startswith(pre) and len(fam) > len(pre) + 1 and fam[len(pre)].isupper():
            if rnd() < S.mc:
                labels.add("mc_mac_o_variant")
                return rng.choice(MC_VARIANTS[pre](fam)), None
            break
    v = TRANSLIT.get(fam)
    if v and rnd() < S.translit:
        labels.add("transliteration")
        return rng.choice(v), None
    v = PHON.get(fam)
    if v and rnd() < S.phon:
        labels.add("spelling_variant")
        return rng.choice(v), None
    return fam, None


def render_names(p, S, td, labels):
    first, mids = p.first, p.middles
    r = rnd()
    if p.by_middle and mids and r < 0.5 + 0.3 * S.informal:
        first, mids = mids[0], mids[1:]
        labels.add("middle_name_as_first")
    elif p.nick and r < S.nick * p.nick_w:
        first = p.nick
        labels.add("nickname")
    elif p.alt and r < S.nick * 1.5:
        first = p.alt
        labels.add("alt_name_form")
    elif first in TRANSLIT and mids and first in MOHAMMEDS and rnd() < 0.3 * S.informal:
        first, mids = mids[0], mids[1:]
        labels.add("mohammed_prefix_dropped")
    v = TRANSLIT.get(first)
    if v and rnd() < S.translit:
        first = rng.choice(v)
        labels.add("transliteration")
    else:
        v = PHON.get(first)
        if v and rnd() < S.phon:
            first = rng.choice(v)
            labels.add("spelling_variant")
    if mids and rnd() >= S.middles:
        mids = []
    if p.marriage is not None and td < p.marriage:
        fam = p.birth_family
        if fam != p.family:
            labels.add("name_change_marriage")
    else:
        fam = p.family
    fam, extra_given = family_variant(p, fam, S, labels)
    if isinstance(fam, tuple):
        # double-barrel split at the space: its first half lands in the given names
        fam, extra_given = fam
    given = " ".join([first] + list(mids) + ([extra_given] if extra_given else []))
    return given, fam


def street_text(a, S):
    st = a.st
    typ = ABBR[st.typ] if rnd() < S.abbr else st.typ
    return "%d %s %s" % (a.num, st.name, typ)


def address_text(a, S):
    k = a.kind
    if k == "nfa":
        return rng.choice(("NO FIXED ABODE", "No Fixed Abode", "NFA", "Homeless", "", ""))
    road = street_text(a, S)
    r = rnd()
    if k == "flat":
        if r < 0.75:
            parts = ["Flat %d" % a.flat, road]
        elif r < 0.87:
            parts = ["Flat %d %s" % (a.flat, road)]
        elif r < 0.95:
            parts = [road, "Flat %d" % a.flat]
        else:
            parts = ["%d/%s" % (a.flat, road)]
    elif k == "care":
        if r < 0.35:
            parts = [a.flat, a.bname, road]
        elif r < 0.75:
            parts = [a.bname, road]
        elif r < 0.9:
            parts = [road]
        else:
            parts = [a.bname, road.split(" ", 1)[1]]
    elif k == "hall":
        if r < 0.45:
            parts = [a.flat, a.bname, road]
        elif r < 0.75:
            parts = [a.bname, road]
        elif r < 0.9:
            parts = [a.flat, a.bname]
        else:
            parts = [road]
    elif k == "hostel":
        parts = [a.bname, road] if r < 0.7 else [a.bname]
    elif k == "hmo":
        parts = [a.flat, road] if (a.flat and r < 0.6) else [road]
    else:
        parts = [road]
    if rnd() < S.town:
        parts.append(a.st.town)
    return S.sep.join(parts)


MALE_FEMALE = {"M": "MALE", "F": "FEMALE"}


def render_placeholder(p, S, te, labels):
    labels.add("unidentified_record")
    sx = MALE_FEMALE[p.sex]
    r = rnd()
    if r < 0.55:
        fam, given = "UNKNOWN", "UNKNOWN " + sx
    elif r < 0.68:
        fam, given = "UNKNOWN", ""
    elif r < 0.80:
        fam, given = "UNKNOWN", p.first.upper()
    elif r < 0.90:
        fam, given = "UNKNOWN", sx
    else:
        fam, given = "UNKNOWN", rng.choice(("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"))
    r = rnd()
    if r < 0.4:
        dob = fmt_ymd(1900, 1, 1, S.fmt)
    elif r < 0.85:
        guess = p.dob.year + int(rng.gauss(0, 5))
        dob = fmt_ymd(guess, 1, 1, S.fmt)
    else:
        dob = ""
    sex = p.sex if rnd() < 0.9 else ""
    r = rnd()
    a = addr_at(p, te)
    if r < 0.45:
        pc, addr = "ZZ99 3VZ", rng.choice(("NO FIXED ABODE", "UNKNOWN", ""))
    elif r < 0.9:
        pc, addr = "", rng.choice(("", "", "UNKNOWN"))
    else:
        pc, addr = (a.pc if a.kind != "nfa" else "ZZ99 3VZ"), ""
    if rnd() < 0.06:
        nhs = rng.choice(("0000000000", "9999999999"))
        labels.add("placeholder_nhs")
    else:
        nhs = ""
    return [nhs, fam, given, dob, sex, pc, addr.upper()]


def render(p, S, te, td, fl):
    labels = p.labels
    if fl and fl.get("ph"):
        row = render_placeholder(p, S, te, labels)
        return row
    # NHS number
    if p.no_nhs:
        nhs = ""
    elif fl and "nhs" in fl:
        nhs = fl["nhs"]
    elif rnd() < S.nhs_miss:
        nhs = ""
    else:
        nhs = p.nhs
        if p.nhs_old and td < p.nhs_merge and rnd() < 0.7:
            nhs = p.nhs_old
            labels.add("superseded_nhs")
        r = rnd()
        if r < S.nhs_transp:
            nhs = transpose_nhs(nhs)
            labels.add("nhs_transposed")
        elif r < S.nhs_transp + S.nhs_typo:
            nhs = typo_nhs(nhs)
            labels.add("nhs_typo")
        elif r < S.nhs_transp + S.nhs_typo + S.nhs_hh:
            others = [m for m in HOUSEHOLDS[p.hh] if m is not p and not m.no_nhs]
            if others and p.kind == "normal":
                nhs = rng.choice(others).nhs
                labels.add("nhs_of_household_member")
    if fl and fl.get("sib"):
        nhs = p.sib_nhs.nhs
    # names
    given, fam = render_names(p, S, td, labels)
    swap = S.swap * (8 if p.culture == "chinese" else 2 if p.culture in ("muslim", "sikh", "hindu")
                     else 1)
    if rnd() < swap:
        given, fam = fam, given
        labels.add("given_family_swap")
    if rnd() < S.typo:
        fam = typo(fam)
        labels.add("name_typo")
    if rnd() < S.typo:
        given = typo(given)
        labels.add("name_typo")
    # DOB
    d = p.dob
    if p.dob_real is not None and rnd() < 0.2:
        d = p.dob_real
    y, m, dd = d.year, d.month, d.day
    if fl and fl.get("dob_missing"):
        dob = ""
    else:
        r = rnd()
        if r < S.dob_miss:
            dob = ""
        else:
            r -= S.dob_miss
            if r < S.dob_swap:
                if dd <= 12 and dd != m:
                    m, dd = dd, m
                    labels.add("dob_day_month_swap")
            elif r < S.dob_swap + S.dob_err:
                y, m, dd = dob_error(y, m, dd)
                labels.add("dob_error")
            elif r < S.dob_swap + S.dob_err + S.dob_est:
                age = int(age_at(p, te)) + rng.choice((-2, -1, 0, 0, 0, 1, 2))
                y, m, dd = date.fromordinal(te).year - age, 1, 1
                labels.add("dob_estimated")
            dob = fmt_ymd(y, m, dd, S.fmt)
    # sex
    sm = S.sex_miss * (8 if p.neutral else 1)
    r = rnd()
    if r < sm:
        sex = ""
    elif r < sm + S.sex_wrong * (5 if p.neutral else 1):
        sex = "F" if p.sex == "M" else "M"
        labels.add("sex_error")
    else:
        sex = p.sex
    # address
    a = addr_at(p, td)
    if a.kind == "nfa" and rnd() < 0.35:
        a = rng.choice(HOSTELS[a.region])
    if a is not p.h_addrs[-1] and a.pc != p.h_addrs[-1].pc:
        labels.add("old_address_on_record")
    if rnd() < S.pc_miss:
        pc = ""
    else:
        pc = a.pc
        if a.kind != "nfa" and rnd() < S.pc_typo:
            pc = pc_typo(pc)
            labels.add("postcode_typo")
        if rnd() < S.nospace:
            pc = pc.replace(" ", "")
        elif rnd() < 0.004:
            pc = pc.lower()
    addr = "" if rnd() < S.addr_miss else address_text(a, S)
    # case and character set
    if S.upper or rnd() < 0.02:
        given, fam, addr = given.upper(), fam.upper(), addr.upper()
    elif rnd() < 0.003:
        given, fam = given.lower(), fam.lower()
    elif S.naive and rnd() < S.naive:
        given, fam = given.title(), fam.title()
    g2, f2 = given.translate(PL_STRIP), fam.translate(PL_STRIP)
    if g2 != given or f2 != fam:
        if S.unicode and rnd() < S.unicode:
            labels.add("diacritics")
        else:
            given, fam = g2, f2
    if rnd() < S.ws:
        r = rnd()
        if r < 0.4:
            given = ws(given)
        elif r < 0.8:
            fam = ws(fam)
        else:
            addr = ws(addr)
    return [nhs, fam, given, dob, sex, pc, addr]


def poisson(lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    lim = math.exp(-lam)
    k, prod = 0, 1.0
    while True:
        prod *= rnd()
        if prod <= lim:
            return k
        k += 1


def secondary_mean(p):
    age = age_at(p, NOW_O)
    m = 2.3 if age < 30 else 3.2 if age < 50 else 4.3 if age < 65 else 6.0 if age < 80 else 8.2
    k = p.kind
    if k == "care":
        m *= 1.6
    elif k == "nfa":
        m *= 2.5
    elif k == "student":
        m *= 0.6
    return m


KIND_W = {0: [("acute", 55), ("ambulance", 15), ("mh", 15), ("community", 7), ("social", 8)],
          1: [("acute", 58), ("ambulance", 14), ("mh", 10), ("community", 10), ("social", 8)],
          2: [("acute", 45), ("ambulance", 22), ("mh", 4), ("community", 15), ("social", 14)]}
KIND_W_NFA = [("acute", 35), ("ambulance", 35), ("mh", 20), ("community", 3), ("social", 7)]


def region_of(p, a):
    return a.region if a.region in GP_OF else p.home_region


def plan_records(p):
    plans = []
    used = {}
    cur = p.h_addrs[-1]
    if p.unreg and p.kind == "normal":
        pass
    else:
        gp = GP_OF[region_of(p, cur)]
        plans.append([gp, NOW_O, NOW_O, None])
        used[gp.code] = 1
    # deducted record at a previous area's practice
    for i in range(1, len(p.h_starts)):
        a0, a1 = p.h_addrs[i - 1], p.h_addrs[i]
        t = p.h_starts[i]
        if t > date(2004, 1, 1).toordinal() and a0.region != a1.region and \
                a0.region in GP_OF and rnd() < 0.35:
            gp = GP_OF[a0.region]
            if gp.code not in used:
                plans.append([gp, t - 1, t - 1, None])
                used[gp.code] = 1
    # students often stay registered at home as well
    if p.kind == "student" and rnd() < 0.3:
        gp = GP_OF[p.h_addrs[0].region]
        if gp.code not in used:
            plans.append([gp, p.h_starts[1] - 1, p.h_starts[1] - 1, None])
            used[gp.code] = 1
    n = poisson(secondary_mean(p) * rng.gammavariate(1.2, 1 / 1.2))
    age = age_at(p, NOW_O)
    kw = KIND_W_NFA if p.kind == "nfa" else KIND_W[0 if age < 30 else 1 if age < 65 else 2]
    lo_life = p.dob_o + int(10 * YEAR)
    for _ in range(n):
        kind = wchoice(kw)
        lo = max(ERA[kind], lo_life)
        if lo >= NOW_O - 2:
            lo = NOW_O - 400
        t = NOW_O - int((NOW_O - lo) * rnd() ** 1.6)
        a = addr_at(p, t)
        reg = region_of(p, a)
        if kind == "acute":
            S = ACUTE_OF[reg] if rnd() > 0.05 else ACUTE_OF["BHAM"]
        elif kind == "ambulance":
            S = AMB
        elif reg == "BHAM":
            S = {"mh": MH, "community": COMMUNITY, "social": SOCIAL}[kind]
        else:
            S = ACUTE_OF[reg]
        fl = None
        if S.kind != "ambulance" and S.code in used:
            if rnd() < 0.975:
                continue
            fl = {"dup": 1}
            p.labels.add("duplicate_local_record")
        used[S.code] = 1
        td = t if (S.kind == "ambulance" or rnd() < S.stale) else NOW_O
        if S.ph and rnd() < S.ph:
            fl = dict(fl or {}, ph=1)
        plans.append([S, t, td, fl])
    if p.extra:
        for kind, fl in p.extra:
            S = SOCIAL if kind == "social" else AMB
            t = NOW_O - rng.randint(30, 2000)
            plans.append([S, t, t, dict(fl)])
    if not plans:
        reg = region_of(p, cur)
        t = NOW_O - rng.randint(30, 3000)
        plans.append([ACUTE_OF[reg], t, t, None])
    if p.sib_nhs is not None:
        cands = [pl for pl in plans if not (pl[3] and (pl[3].get("ph") or "nhs" in pl[3]))]
        cands = [c for c in cands if c[0].kind != "gp"] or cands
        if cands:
            pl = rng.choice(cands)
            pl[3] = dict(pl[3] or {}, sib=1)
    return plans


# ---------------------------------------------------------------------------------------
# Post-hoc labels and output
# ---------------------------------------------------------------------------------------

def posthoc_labels():
    groups = {}
    for p in PERSONS:
        if p.kind == "nfa":
            continue
        key = (p.first.lower(), p.family.lower(), p.dob.year, p.h_addrs[-1].region)
        groups.setdefault(key, []).append(p)
    for g in groups.values():
        if len(g) < 2:
            continue
        for p in g:
            others = [q for q in g if q is not p and q.hh != p.hh]
            if others:
                p.labels.add("namesake")
                if any(q.dob_o == p.dob_o for q in others):
                    p.labels.add("namesake_same_dob")
    est = {}
    for p in PERSONS:
        if p.estab:
            est.setdefault(p.estab, []).append(p)
    for members in est.values():
        byfam = {}
        for p in members:
            byfam.setdefault(p.family.lower(), []).append(p)
        for g in byfam.values():
            for p in g:
                for q in g:
                    if q is not p and abs(q.dob_o - p.dob_o) <= 10 * 365:
                        p.labels.add("communal_same_surname")
                        if q.first == p.first:
                            p.labels.add("communal_same_name")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: population.py PERSONS SEED OUT")
    n, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    t0 = time.time()
    rng.seed(seed)
    setup_geography(n)
    build_population(n)
    force_namesakes(n)
    for p in PERSONS:
        age = age_at(p, NOW_O)
        if p.kind == "normal" and rnd() < (0.025 if (p.sex == "M" and age < 35) else 0.008):
            p.unreg = True
    for p in rng.sample(PERSONS, max(1, round(0.0005 * n))):
        p.restricted = True
        p.labels.add("restricted")
    rows = {code: [] for code in SRC}
    for p in PERSONS:
        for S, te, td, fl in plan_records(p):
            r = render(p, S, te, td, fl)
            rows[S.code].append((p.pid, r, p.restricted))
    posthoc_labels()
    os.makedirs(out, exist_ok=True)
    truth = []
    n_rec = 0
    for code, lst in rows.items():
        S = SRC[code]
        rng.shuffle(lst)
        path = os.path.join(out, code + ".csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["source", "record_id", "nhs_number", "family_name", "given_names",
                        "date_of_birth", "sex", "postcode", "address", "restricted"])
            step = 1 if S.kind in ("gp", "social") else 3
            for i, (pid, r, restr) in enumerate(lst):
                rid = "%s%d" % (S.idp, S.id0 + i * step + (i * 7919) % step)
                w.writerow([code, rid] + r + ["1" if restr else "0"])
                truth.append((code, rid, pid))
        n_rec += len(lst)
    with open(os.path.join(out, "truth.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "record_id", "person"])
        w.writerows(truth)
    counts = {}
    with open(os.path.join(out, "kinds.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["person", "hard_case"])
        for p in PERSONS:
            for lab in sorted(p.labels):
                w.writerow([p.pid, lab])
                counts[lab] = counts.get(lab, 0) + 1
    sys.stderr.write("persons %d, records %d (%.2f per person), %.1fs\n"
                     % (len(PERSONS), n_rec, n_rec / max(1, len(PERSONS)), time.time() - t0))
    for code, lst in rows.items():
        sys.stderr.write("  %-10s %7d\n" % (code, len(lst)))
    for lab in sorted(counts):
        sys.stderr.write("  %-30s %6d\n" % (lab, counts[lab]))


if __name__ == "__main__":
    main()
