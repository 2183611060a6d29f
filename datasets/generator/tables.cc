// Copyright EMPI developers.
//
// Name lists are ranked by approximate frequency in England and Wales (ONS
// birth registrations and surname counts), trimmed and adapted by hand;
// the postcode districts are the real districts of each post town.
#include "datasets/generator/tables.h"

#include <map>

#include "absl/strings/str_split.h"

namespace empi::generator_internal {
namespace {

// The tables keep the layout they were written in.
// clang-format off

std::vector<std::string> Split(std::string_view s) {
  return absl::StrSplit(absl::string_view(s.data(), s.size()), absl::ByAnyChar(" \n"),
                        absl::SkipEmpty());
}

constexpr std::string_view kBritishSurnames = R"(
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts
Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris
Clarke Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King
Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price
Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins
Bell Shaw Miller Cox Richards Marshall Anderson Simpson Ellis Adams Wilkinson
Foster Chapman Powell Webb Rogers Gray Mason Hunt Matthews Owen Palmer Holmes
Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray
Dixon Harvey Graham Pearson Fletcher Gibson Howard Andrews Stewart Elliott
Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson
Bradley Spencer Dawson Ball Burton Watts Rose Booth Perry Grant Wells
Armstrong Francis Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr
Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins
Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner
Shepherd Dean Lane Cooke Bates Henderson Burgess Bishop Walton Burns Nicholson
Hamilton Sutton Warren Jordan Lambert Chambers Hopkins Whitehouse Bull Pritchard
Hickman Tromans Oakley Bayliss Bott Hollis Wain Nock Meredith Cartwright
Haywood Dyson Holt Cross Hewitt Goodwin Slater Sharp Norris Welch Frost Kay
Osborne Fowler Stephenson Lamb Rowe Pugh Hodgson Kirby Banks Moss Bond Nash
Rowley Pickering Tyler Hammond Ryder Brookes Yates Horton Parkes Sanders
Kemp Jarvis Pratt Cartwright Buckley Sims Wheeler Stanley Talbot Hancock
Buckingham Sheppard Sargent Manning Knowles Briggs Preston Beard Dale Coleman
Ashby Whitmore Lucas Bamford Lovell Goode Iles Perkins Howell Goddard Pope
Boswell Smart Connolly Mellor Bradshaw Vaughan Blake Coates Bentley Tucker
Wade Winter Swift Tranter Poole Hadley Baxter Birch Randall Mann Moran Bolton
Austin Farmer Cotterill Jukes Eccles Bagley Attwood Plant Underhill Darby
Smith-Jones Taylor-Wood Hughes-Davies Parker-Bowles Spencer-Clarke Ashworth-Hill
)";

constexpr std::string_view kIrishSurnames = R"(
Murphy Kelly O'Brien Byrne Ryan O'Connor O'Sullivan Walsh McCarthy Doyle
O'Neill Lynch Gallagher Kennedy Quinn McDonnell Brennan Fitzgerald Moran
Daly Dunne Flynn Nolan Keane McGrath Maguire Kavanagh Boyle O'Reilly Casey
Donnelly Sheehan Whelan Healy Hogan Power Burke Connolly Duffy O'Donnell
)";

constexpr std::string_view kWelshSurnames = R"(
Jones Davies Williams Evans Thomas Roberts Hughes Lewis Morgan Griffiths
Price Owen Jenkins Lloyd Rees Powell Parry Pugh Howells Bowen Llewellyn
Vaughan Pritchard Meredith Prosser Gwynne Probert Bevan Watkins ap-Rhys
Llewellyn-Jones Prydderch Maddox Gough Jenkins-Price
)";

constexpr std::string_view kSouthAsianMuslimSurnames = R"(
Khan Ahmed Hussain Ali Begum Mahmood Akhtar Iqbal Shah Rahman Mohammed Bibi
Hussein Aslam Butt Malik Sheikh Ahmad Riaz Rashid Javed Nawaz Anwar Bashir
Mirza Saleem Hanif Yousaf Akram Mahmud Chaudhry Choudhury Hassan Ashraf Islam
Uddin Miah Ullah Rafiq Latif Qureshi Abbasi Siddiqui Karim Arshad Zaman Raja
)";

constexpr std::string_view kSikhSurnames = R"(
Singh Kaur Sandhu Gill Johal Sidhu Dhillon Bains Bassi Sahota Grewal Atwal
Hayer Kang Sangha Dhaliwal Virdi Mann Rai Bhogal Chahal Kalsi Uppal Basra
)";

constexpr std::string_view kHinduSurnames = R"(
Patel Sharma Kumar Mistry Shah Lal Chauhan Parmar Mehta Joshi Gupta Desai
Solanki Chopra Verma Thakkar Pandya Trivedi Modi Naidu Rao Iyer Varma Bhatt
)";

constexpr std::string_view kPolishSurnames = R"(
Nowak Kowalski Kowalska Wiśniewski Wiśniewska Wójcik Kowalczyk Kamiński
Kamińska Lewandowski Lewandowska Zieliński Zielińska Szymański Woźniak
Dąbrowski Kozłowski Jankowski Mazur Krawczyk Piotrowski Grabowski Łukasik
Pawłowski Michalski Król Wieczorek Jabłoński Nowakowski Majewski Olszewski
Horváth Novák Popescu Kovács Petrov Ivanova Balogh Dvořák
)";

constexpr std::string_view kAfricanSurnames = R"(
Okafor Adeyemi Mensah Okonkwo Boateng Owusu Adebayo Oyelaran Asante Osei
Nwosu Eze Chukwu Ogunleye Abubakar Mohamud Abdi Farah Nkemelu Oduya Bello
Adewale Ojo Agyeman Acheampong Danso Obi Okeke Ibrahim Mwangi
)";

constexpr std::string_view kCaribbeanSurnames = R"(
Campbell Williams Brown Smith Johnson Thompson Clarke Francis Grant Reid
Robinson Lewis Bailey Walker Edwards Henry Wright Gordon Morgan Richards
Stewart Allen Spencer Hylton McKenzie Samuels Beckford Forbes Bryan Dacosta
)";

constexpr std::string_view kChineseSurnames = R"(
Wang Li Zhang Chen Liu Yang Huang Zhao Wu Zhou Lin Xu Sun Ma Zhu Hu Guo He
Wong Chan Cheung Lau Ng Leung Ho Tang
)";

constexpr std::string_view kPrefixes = R"(
Ash Brad Clay Dun Fen Hol Kings Mar Whit Thorn Brom Sel Wat Hax Pen Rad Sher
Tad Yard Ack Ald Bar Bex Cal Chad Dal Ed Elm Far Gil Hal Hen Lang Lid Mer Mid
Nor Oak Pad Red Rom Sal Stan Stock Sud Wal Wes Wil Wor Yel Bick Cran Dray
Ful Gos Hart Ick Kel Lud Mox Ost Pim Quen Rus Sow Tib Umber Vern Wick
)";
constexpr std::string_view kMiddles = "ing er e s en ble an ow ock am in il";
constexpr std::string_view kSuffixes = R"(
ley ton ham field wood worth by ford well bury combe den hurst more stead
thorpe wick stone croft dale bridge shaw land sworth hill ridge cott ington
cock er man son
)";

// British given names by birth cohort: before 1946, 1946-1965, 1966-1985,
// 1986 onwards.
constexpr std::string_view kBritishFemale[4] = {
    R"(Margaret Dorothy Joan Mary Betty Doris Jean Joyce Irene Kathleen Elsie
Barbara Edna Eileen Hilda Audrey Marjorie Phyllis Winifred Gladys Florence
Ivy Vera Elizabeth Lilian Olive Mabel Ethel Violet Sylvia Brenda Iris Beryl
Evelyn Gwendoline Marion Muriel Annie Alice Agnes Renée)",
    R"(Susan Linda Christine Margaret Janet Patricia Carol Elizabeth Mary Anne
Ann Jane Jacqueline Pauline Sandra Valerie Gillian Julie Elaine Lesley Karen
Barbara Maureen Sheila Jennifer Wendy Diane Lynn Angela Hazel Rosemary
Jean Brenda Deborah Denise Catherine Carole Helen Judith Kathleen)",
    R"(Sarah Claire Nicola Emma Lisa Joanne Michelle Helen Samantha Karen Amanda
Rachel Louise Julie Clare Rebecca Sharon Victoria Caroline Susan Alison
Catherine Elizabeth Deborah Donna Tracey Tracy Kelly Dawn Joanne Jennifer
Kerry Nicola Natalie Stephanie Zoë Gemma Lucy Katherine Jacqueline Siân)",
    R"(Olivia Amelia Emily Jessica Sophie Chloe Charlotte Lauren Hannah Megan
Ellie Grace Lucy Emma Rebecca Amy Bethany Katie Holly Georgia Isla Ava Mia
Isabella Poppy Lily Freya Evie Sophia Daisy Ruby Jasmine Abigail Phoebe
Zoë Eleanor Millie Scarlett Leah Chelsea)"};
constexpr std::string_view kBritishMale[4] = {
    R"(John William George Arthur Harold Thomas James Albert Frederick Ernest
Kenneth Robert Charles Leonard Stanley Walter Henry Alfred Joseph Dennis
Edward Ronald Frank Sidney Reginald Cyril Herbert Eric Norman Percy Raymond
Douglas Donald Leslie Jack Roy Victor Gordon Bernard Harry)",
    R"(David John Michael Peter Robert Paul Stephen Richard Christopher Alan
Anthony Brian Keith Ian Andrew Graham Martin Colin Kevin Trevor Roger Philip
Barry Terence Malcolm Geoffrey Dennis Gary Nigel Derek William Raymond Mark
Kenneth Stuart Timothy Steven Neil Patrick Jeremy)",
    R"(David Paul Mark Andrew Richard Daniel James Christopher Michael Matthew
Stephen Jason Darren Lee Craig Simon Robert Neil Wayne Gary Ian Jonathan
Carl Dean Scott Thomas Benjamin Adam Nicholas Anthony Martin Kevin Peter
Stuart Philip Timothy Alexander Shaun Jamie Ryan)",
    R"(Oliver Jack Harry Jacob Charlie Thomas George James William Joshua Daniel
Samuel Alfie Ethan Joseph Lewis Muhammad Noah Leo Oscar Archie Freddie
Henry Max Luke Callum Liam Ryan Jake Dylan Kieran Connor Bradley Reece
Adam Jordan Tyler Nathan Alexander Mason)"};

constexpr std::string_view kIrishFemale = R"(Mary Bridget Margaret Siobhán Aoife Niamh
Ciara Sinéad Áine Róisín Catherine Kathleen Patricia Eileen Maeve Orla Clodagh
Deirdre Nora Sarah Emma Anne)";
constexpr std::string_view kIrishMale = R"(Patrick Sean Michael John Seamus Liam
Declan Brendan Kieran Ciarán Conor Eoin Padraig Dermot Cormac Niall Thomas James
Daniel Kevin Eamon Colm)";
constexpr std::string_view kWelshFemale = R"(Siân Cerys Bethan Rhiannon Megan Gwen
Ffion Catrin Eleri Nia Angharad Carys Lowri Elin Margaret Mary Sarah Elizabeth
Glenys Myfanwy)";
constexpr std::string_view kWelshMale = R"(Rhys Gareth Dafydd Owen Huw Ieuan Gethin
Aled Emyr Dylan Geraint Iwan Morgan Llŷr Tomos Evan Idris Glyn David John
Thomas William)";
constexpr std::string_view kSouthAsianMuslimFemale = R"(Fatima Aisha Ayesha
Khadija Zainab Maryam Amina Nasreen Shazia Rukhsana Sadia Samina Nazia Farzana
Parveen Shabana Yasmin Hafsa Iqra Sana Zara Hina Safia Noor Razia Tahira Mumtaz)";
constexpr std::string_view kSouthAsianMuslimMale = R"(Mohammed Muhammad Mohammad
Ahmed Ali Imran Tariq Asif Abdul Yusuf Zafar Shahid Khalid Nadeem Omar Bilal
Hamza Usman Ibrahim Adnan Faisal Rizwan Sajid Waqar Zubair Amir Hassan Ismail)";
constexpr std::string_view kSikhFemale = R"(Harpreet Jaspreet Manpreet Gurpreet
Sukhwinder Rajinder Kulwinder Balvinder Paramjit Amarjit Simran Navdeep Jasleen
Mandeep Harjit Surinder)";
constexpr std::string_view kSikhMale = R"(Gurpreet Harjinder Sukhdev Jaswinder
Manjit Kuldip Rajinder Balbir Amrik Harbans Jasbir Gurdeep Harpal Parminder
Ranjit Sukhvir Hardeep Jagjit)";
constexpr std::string_view kHinduFemale = R"(Priya Anjali Pooja Neha Kavita Sunita
Meena Geeta Nisha Rekha Hema Asha Shilpa Deepa Sangeeta Jyoti Bhavna Hansa
Nirmala Radha)";
constexpr std::string_view kHinduMale = R"(Rajesh Sanjay Amit Vijay Ramesh Suresh
Anil Dinesh Hitesh Nikhil Rahul Arjun Vikram Prakash Ashok Mahesh Kishore
Deepak Manoj Ravi Krishna Jayesh)";
constexpr std::string_view kPolishFemale = R"(Anna Katarzyna Małgorzata Agnieszka
Joanna Barbara Ewa Magdalena Monika Aleksandra Zofia Dorota Beata Justyna
Paulina Karolina Żaneta Renáta Zsófia Ilona Natalia Marta)";
constexpr std::string_view kPolishMale = R"(Piotr Krzysztof Tomasz Paweł Michał
Marcin Łukasz Jakub Andrzej Grzegorz Mateusz Wojciech Kamil Marek Adam Dariusz
Zoltán László Tamás Bogdan Jan Kacper)";
constexpr std::string_view kAfricanFemale = R"(Chiamaka Ngozi Adaeze Folake
Oluwaseun Abena Akosua Ama Efua Blessing Grace Precious Faith Joy Chioma Amara
Nneka Funmilayo Halima Hodan Fadumo Esther)";
constexpr std::string_view kAfricanMale = R"(Chinedu Emeka Oluwaseun Kwame Kofi
Kwabena Yaw Tunde Babatunde Femi Ikenna Samuel Emmanuel Daniel David Joseph
Ahmed Abdi Mohamed Olumide Chukwuemeka)";
constexpr std::string_view kCaribbeanFemale = R"(Marcia Beverley Sonia Yvonne
Jacqueline Paulette Hyacinth Claudette Donna Michelle Shanice Tia Kadeisha
Jade Chantelle Nadine Simone Andrea Grace Joy)";
constexpr std::string_view kCaribbeanMale = R"(Delroy Winston Leroy Clive Lloyd
Errol Desmond Trevor Junior Marcus Andre Jermaine Tyrone Dwayne Leon Kyle Nathan
Carlton Devon Courtney)";
constexpr std::string_view kChineseFemale = R"(Mei Li Xiaoyan Ying Hui Jing Lan
Yan Wei Xin Ling Fang Ting Na Qing)";
constexpr std::string_view kChineseMale = R"(Wei Jun Hao Lei Jie Ming Yong Qiang
Jian Tao Bo Chao Feng Gang Kai)";

constexpr std::string_view kStreets = R"(
High_Street Station_Road Church_Lane Church_Street Park_Road Victoria_Road
Green_Lane Manor_Road Mill_Lane School_Lane The_Avenue Kings_Road Queens_Road
New_Road London_Road Grange_Road Springfield_Road Chester_Road Warwick_Road
Coventry_Road Birmingham_Road Stratford_Road Alcester_Road Holyhead_Road
Foleshill_Road Walsgrave_Road Binley_Road Earlsdon_Avenue Kenilworth_Road
Leicester_Road Lichfield_Road Hagley_Road Soho_Road Ladypool_Road
Bristol_Road Pershore_Road Moseley_Road Washwood_Heath_Road Coventry_Street
Tiverton_Road Bath_Road Ombersley_Road Barbourne_Road Malvern_Road
Worcester_Road Ledbury_Road Whitecross_Road Aylestone_Hill Bromyard_Road
Kidderminster_Road Stourbridge_Road Dudley_Road Wolverhampton_Road
Oak_Tree_Lane Beech_Avenue Elm_Grove Ash_Close Willow_Way Birch_Drive
Holly_Close Cedar_Road Sycamore_Road Hawthorn_Close Rowan_Way Laurel_Drive
Meadow_Lane Orchard_Close Brook_Street Riverside Canal_Side Bridge_Street
Castle_Street Market_Street Albert_Road Alexandra_Road Windsor_Road
York_Road Clarence_Road Stanley_Road Elmdon_Road Moat_Lane Hall_Green_Road
Fletchamstead_Highway Tile_Hill_Lane Allesley_Old_Road Radford_Road
Stoney_Stanton_Road Hinckley_Road Lutterworth_Road Clifton_Road Bilton_Road
Rugby_Road Tachbrook_Road Emscote_Road Shipston_Road Evesham_Road
Tiddington_Road Banbury_Road Oxford_Street Regent_Street Parade Clarendon_Street
Beauchamp_Avenue Lillington_Road Cubbington_Road Sydenham_Drive Myton_Road
St_Johns_Road St_Marys_Road St_Pauls_Road Newland_Road Chapel_Street
Sandy_Lane Long_Lane Back_Lane Cherry_Tree_Avenue Poplar_Road Primrose_Hill
Highfield_Road Hillside Valley_Road Westfield_Road Northfield_Road
Southfield_Road Eastfield_Road Lodge_Road Farm_Road Common_Lane Moor_Lane
Heath_Road Woodland_Road Forest_Road Fairfield_Road Grove_Road Park_Lane
Spring_Lane Well_Lane Pool_Road Marsh_Lane Dovedale_Avenue Shakespeare_Street
Milton_Road Tennyson_Road Wordsworth_Road Kipling_Avenue Nelson_Street
Wellington_Road Trafalgar_Road Waterloo_Road Cromwell_Lane Tudor_Road
Stuart_Close Hanover_Road Coronation_Road Jubilee_Close Festival_Avenue
)";

constexpr std::string_view kCareHomes = R"(
Oakwood_House Elmhurst Willow_Bank The_Limes Beechcroft Rosewood_Court
Meadowview Heathfield_Lodge Abbey_Grange Cedar_Lodge Brookside Fairhaven
Hollybank Lavender_House Orchard_Manor St_Annes Riverside_Court Greenacres
)";

// Postcode districts: code, post town, population weight. All real.
struct DistrictRow {
  const char* code;
  const char* town;
  Region region;
  double weight;
  bool coventry;
};
constexpr Region kCW = Region::kCoventryWarwickshire;
constexpr Region kBS = Region::kBirminghamSolihull;
constexpr Region kHW = Region::kHerefordWorcester;
constexpr DistrictRow kDistrictRows[] = {
    {"CV1", "Coventry", kCW, 1.2, true}, {"CV2", "Coventry", kCW, 2.0, true},
    {"CV3", "Coventry", kCW, 2.0, true}, {"CV4", "Coventry", kCW, 1.3, true},
    {"CV5", "Coventry", kCW, 1.6, true}, {"CV6", "Coventry", kCW, 2.0, true},
    {"CV7", "Coventry", kCW, 0.8, false}, {"CV8", "Kenilworth", kCW, 1.0, false},
    {"CV9", "Atherstone", kCW, 0.7, false}, {"CV10", "Nuneaton", kCW, 1.2, false},
    {"CV11", "Nuneaton", kCW, 1.2, false}, {"CV12", "Bedworth", kCW, 1.0, false},
    {"CV13", "Nuneaton", kCW, 0.5, false}, {"CV21", "Rugby", kCW, 1.2, false},
    {"CV22", "Rugby", kCW, 1.1, false}, {"CV23", "Rugby", kCW, 0.8, false},
    {"CV31", "Leamington Spa", kCW, 1.0, false}, {"CV32", "Leamington Spa", kCW, 1.1, false},
    {"CV33", "Leamington Spa", kCW, 0.5, false}, {"CV34", "Warwick", kCW, 1.1, false},
    {"CV35", "Warwick", kCW, 0.6, false}, {"CV36", "Shipston-on-Stour", kCW, 0.4, false},
    {"CV37", "Stratford-upon-Avon", kCW, 1.1, false}, {"CV47", "Southam", kCW, 0.5, false},
    {"B1", "Birmingham", kBS, 0.5, false}, {"B2", "Birmingham", kBS, 0.1, false},
    {"B3", "Birmingham", kBS, 0.2, false}, {"B4", "Birmingham", kBS, 0.2, false},
    {"B5", "Birmingham", kBS, 0.8, false}, {"B6", "Birmingham", kBS, 1.2, false},
    {"B7", "Birmingham", kBS, 0.8, false}, {"B8", "Birmingham", kBS, 1.4, false},
    {"B9", "Birmingham", kBS, 1.2, false}, {"B10", "Birmingham", kBS, 1.2, false},
    {"B11", "Birmingham", kBS, 1.4, false}, {"B12", "Birmingham", kBS, 1.1, false},
    {"B13", "Birmingham", kBS, 1.2, false}, {"B14", "Birmingham", kBS, 1.4, false},
    {"B15", "Birmingham", kBS, 0.8, false}, {"B16", "Birmingham", kBS, 0.8, false},
    {"B17", "Birmingham", kBS, 0.9, false}, {"B18", "Birmingham", kBS, 0.9, false},
    {"B19", "Birmingham", kBS, 0.8, false}, {"B20", "Birmingham", kBS, 1.1, false},
    {"B21", "Birmingham", kBS, 1.0, false}, {"B23", "Birmingham", kBS, 1.2, false},
    {"B24", "Birmingham", kBS, 1.0, false}, {"B25", "Birmingham", kBS, 0.9, false},
    {"B26", "Birmingham", kBS, 1.0, false}, {"B27", "Birmingham", kBS, 0.9, false},
    {"B28", "Birmingham", kBS, 0.8, false}, {"B29", "Birmingham", kBS, 1.3, false},
    {"B30", "Birmingham", kBS, 0.9, false}, {"B31", "Birmingham", kBS, 1.3, false},
    {"B32", "Birmingham", kBS, 1.1, false}, {"B33", "Birmingham", kBS, 1.1, false},
    {"B34", "Birmingham", kBS, 0.7, false}, {"B35", "Birmingham", kBS, 0.6, false},
    {"B36", "Birmingham", kBS, 0.9, false}, {"B37", "Birmingham", kBS, 1.0, false},
    {"B38", "Birmingham", kBS, 0.8, false}, {"B40", "Birmingham", kBS, 0.05, false},
    {"B42", "Birmingham", kBS, 0.8, false}, {"B43", "Birmingham", kBS, 0.8, false},
    {"B44", "Birmingham", kBS, 0.9, false}, {"B45", "Birmingham", kBS, 0.9, false},
    {"B46", "Birmingham", kBS, 0.7, false}, {"B47", "Birmingham", kBS, 0.5, false},
    {"B48", "Birmingham", kBS, 0.3, false}, {"B49", "Alcester", kCW, 0.5, false},
    {"B50", "Alcester", kCW, 0.2, false}, {"B60", "Bromsgrove", kHW, 0.9, false},
    {"B61", "Bromsgrove", kHW, 0.9, false}, {"B62", "Halesowen", kBS, 0.9, false},
    {"B63", "Halesowen", kBS, 0.9, false}, {"B64", "Cradley Heath", kBS, 0.8, false},
    {"B65", "Rowley Regis", kBS, 0.8, false}, {"B66", "Smethwick", kBS, 0.9, false},
    {"B67", "Smethwick", kBS, 0.8, false}, {"B68", "Oldbury", kBS, 0.8, false},
    {"B69", "Oldbury", kBS, 0.8, false}, {"B70", "West Bromwich", kBS, 1.1, false},
    {"B71", "West Bromwich", kBS, 0.9, false}, {"B72", "Sutton Coldfield", kBS, 0.6, false},
    {"B73", "Sutton Coldfield", kBS, 0.8, false}, {"B74", "Sutton Coldfield", kBS, 0.7, false},
    {"B75", "Sutton Coldfield", kBS, 0.8, false}, {"B76", "Sutton Coldfield", kBS, 0.7, false},
    {"B77", "Tamworth", kBS, 0.9, false}, {"B78", "Tamworth", kBS, 0.6, false},
    {"B79", "Tamworth", kBS, 0.8, false}, {"B80", "Studley", kCW, 0.3, false},
    {"B90", "Solihull", kBS, 1.0, false}, {"B91", "Solihull", kBS, 0.9, false},
    {"B92", "Solihull", kBS, 0.9, false}, {"B93", "Solihull", kBS, 0.6, false},
    {"B94", "Solihull", kBS, 0.2, false}, {"B95", "Henley-in-Arden", kCW, 0.3, false},
    {"B96", "Redditch", kHW, 0.3, false}, {"B97", "Redditch", kHW, 0.9, false},
    {"B98", "Redditch", kHW, 0.9, false},
    {"WR1", "Worcester", kHW, 0.6, false}, {"WR2", "Worcester", kHW, 0.9, false},
    {"WR3", "Worcester", kHW, 0.6, false}, {"WR4", "Worcester", kHW, 0.8, false},
    {"WR5", "Worcester", kHW, 0.9, false}, {"WR6", "Worcester", kHW, 0.4, false},
    {"WR7", "Worcester", kHW, 0.2, false}, {"WR8", "Worcester", kHW, 0.3, false},
    {"WR9", "Droitwich", kHW, 0.7, false}, {"WR10", "Pershore", kHW, 0.5, false},
    {"WR11", "Evesham", kHW, 0.8, false}, {"WR12", "Broadway", kHW, 0.1, false},
    {"WR13", "Malvern", kHW, 0.3, false}, {"WR14", "Malvern", kHW, 0.7, false},
    {"WR15", "Tenbury Wells", kHW, 0.2, false},
    {"HR1", "Hereford", kHW, 0.6, false}, {"HR2", "Hereford", kHW, 0.8, false},
    {"HR3", "Hereford", kHW, 0.2, false}, {"HR4", "Hereford", kHW, 0.6, false},
    {"HR5", "Kington", kHW, 0.1, false}, {"HR6", "Leominster", kHW, 0.3, false},
    {"HR7", "Bromyard", kHW, 0.1, false}, {"HR8", "Ledbury", kHW, 0.2, false},
    {"HR9", "Ross-on-Wye", kHW, 0.3, false},
    {"DY1", "Dudley", kBS, 0.8, false}, {"DY2", "Dudley", kBS, 0.8, false},
    {"DY3", "Dudley", kBS, 0.8, false}, {"DY4", "Tipton", kBS, 0.8, false},
    {"DY5", "Brierley Hill", kBS, 0.9, false}, {"DY6", "Kingswinford", kBS, 0.6, false},
    {"DY7", "Stourbridge", kBS, 0.2, false}, {"DY8", "Stourbridge", kBS, 0.8, false},
    {"DY9", "Stourbridge", kBS, 0.6, false}, {"DY10", "Kidderminster", kHW, 0.8, false},
    {"DY11", "Kidderminster", kHW, 0.6, false}, {"DY12", "Bewdley", kHW, 0.3, false},
    {"DY13", "Stourport-on-Severn", kHW, 0.4, false}, {"DY14", "Kidderminster", kHW, 0.2, false},
};

// Generator-only nickname and spelling-variant groups: the first entry is
// the formal name, the rest what a clerk or the patient may write instead.
constexpr std::string_view kVariantGroups = R"(
William Bill Will Billy
Robert Bob Rob Bobby
Richard Dick Rich Richie
James Jim Jimmy Jamie
John Jack Johnny
Thomas Tom Tommy
Michael Mike Mick
Christopher Chris Kit
Anthony Tony
Edward Ted Eddie Ed
Alexander Alex Sandy
Daniel Dan Danny
Matthew Matt
Joseph Joe Joey
Samuel Sam Sammy
Benjamin Ben Benny
Jonathan Jon Jonny
Stephen Steve Stevie Steven
Steven Steve Stephen
Peter Pete
Andrew Andy Drew
David Dave Davy
Harold Harry Hal
Henry Harry Hal
Frederick Fred Freddie
Albert Bert Bertie
Charles Charlie Chas
Kenneth Ken Kenny
Ronald Ron Ronnie
Donald Don
Terence Terry
Nicholas Nick Nicky
Timothy Tim
Philip Phil
Oliver Ollie
Leonard Len Lenny
Gerald Gerry
Raymond Ray
Margaret Maggie Peggy Meg Margot
Elizabeth Liz Beth Betty Lizzie Eliza
Dorothy Dot Dolly Dottie
Patricia Pat Trish Patsy
Susan Sue Susie
Jennifer Jenny Jen
Katherine Kate Kathy Katie
Catherine Cathy Kate Cath
Deborah Debbie Debra
Rebecca Becky Becca
Victoria Vicky Tori
Jacqueline Jackie Jacquie
Christine Chris Chrissie
Barbara Babs Barb
Abigail Abbie Abby
Eleanor Ellie Nell
Samantha Sam Sammie
Alexandra Alex Lexi
Amanda Mandy
Pamela Pam
Kathleen Kath Kathy
Josephine Jo Josie
Florence Flo Florrie
Winifred Win Winnie
Mohammed Muhammad Mohammad Mohamed Muhammed
Muhammad Mohammed Mohammad Mohamed
Mohammad Mohammed Muhammad
Mohamed Mohammed Muhammad
Ahmed Ahmad
Yusuf Yousuf Yusef
Abdul Abdool
Fatima Fatimah Fatma
Aisha Ayesha Aysha
Ayesha Aisha
Khadija Khadijah
Zainab Zaynab
Hussain Hussein Husain
Ibrahim Ebrahim
Omar Umar
Mahmood Mahmud
Małgorzata Gosia Malgorzata
Katarzyna Kasia
Wojciech Wojtek
Aleksandra Ola
Łukasz Luke
Jakub Kuba
Paweł Pawel Paul
Michał Michael
Krzysztof Chris
Siobhán Shevaun
Seamus Shay
Patrick Pat Paddy
Gurpreet Preet
Harjinder Harry
Sukhwinder Sukhi
Oluwaseun Seun
Babatunde Tunde
Chinedu Chi
)";

constexpr std::string_view kSimilarMale = R"(
Jack/Jake Daniel/David Lewis/Louis Callum/Calum Ryan/Rhys Liam/Leo Aaron/Adam
Mohammed/Mahmood Arjun/Aman Tomasz/Tomas Ethan/Evan Jordan/Jordon
)";
constexpr std::string_view kSimilarFemale = R"(
Emily/Emma Hannah/Anna Amy/Amie Lucy/Lucie Sarah/Sara Chloe/Cleo Ellie/Elise
Aisha/Ayesha Olivia/Livia Megan/Morgan Jessica/Jasmine Gemma/Jenna
)";

struct Tables {
  std::vector<std::string> surnames[kNumCommunities];
  std::vector<std::string> british_given[2][4];
  std::vector<std::string> given[kNumCommunities][2];
  std::vector<std::string> prefixes, middles, suffixes;
  std::vector<District> districts;
  std::vector<std::string> streets, care_homes;
  std::vector<Practice> practices;
  std::map<std::string, std::vector<std::string>, std::less<>> variants;
  std::vector<std::pair<std::string, std::string>> similar[2];
};

std::vector<std::string> Underscored(std::string_view s) {
  std::vector<std::string> out = Split(s);
  for (auto& x : out) {
    for (char& c : x) {
      if (c == '_') c = ' ';
    }
  }
  return out;
}

const Tables& GetTables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    const std::string_view surnames[kNumCommunities] = {
        kBritishSurnames, kIrishSurnames, kWelshSurnames,
        kSouthAsianMuslimSurnames, kSikhSurnames, kHinduSurnames,
        kPolishSurnames, kAfricanSurnames, kCaribbeanSurnames,
        kChineseSurnames};
    for (int i = 0; i < kNumCommunities; ++i) t->surnames[i] = Split(surnames[i]);
    for (int c = 0; c < 4; ++c) {
      t->british_given[0][c] = Split(kBritishMale[c]);
      t->british_given[1][c] = Split(kBritishFemale[c]);
    }
    const std::string_view given[kNumCommunities][2] = {
        {"", ""},
        {kIrishMale, kIrishFemale},
        {kWelshMale, kWelshFemale},
        {kSouthAsianMuslimMale, kSouthAsianMuslimFemale},
        {kSikhMale, kSikhFemale},
        {kHinduMale, kHinduFemale},
        {kPolishMale, kPolishFemale},
        {kAfricanMale, kAfricanFemale},
        {kCaribbeanMale, kCaribbeanFemale},
        {kChineseMale, kChineseFemale}};
    for (int i = 1; i < kNumCommunities; ++i) {
      t->given[i][0] = Split(given[i][0]);
      t->given[i][1] = Split(given[i][1]);
    }
    t->prefixes = Split(kPrefixes);
    t->middles = Split(kMiddles);
    t->suffixes = Split(kSuffixes);
    for (const auto& r : kDistrictRows) {
      t->districts.push_back({r.code, r.town, r.region, r.weight, r.coventry});
    }
    t->streets = Underscored(kStreets);
    t->care_homes = Underscored(kCareHomes);
    // GP practices: Coventry & Warwickshire (M84, M86), Birmingham &
    // Solihull (M85, M88), Herefordshire & Worcestershire (M81, M82).
    for (const char* code : {"M84001", "M84004", "M84012", "M84027", "M86007", "M86010",
                             "M86014", "M86022"}) {
      t->practices.push_back({code, kCW});
    }
    for (const char* code : {"M85001", "M85006", "M85019", "M85034", "M85041", "M88002",
                             "M88005", "M88020"}) {
      t->practices.push_back({code, kBS});
    }
    for (const char* code : {"M81002", "M81015", "M81026", "M81033", "M82005", "M82011"}) {
      t->practices.push_back({code, kHW});
    }
    for (absl::string_view line : absl::StrSplit(
             absl::string_view(kVariantGroups.data(), kVariantGroups.size()), '\n',
             absl::SkipEmpty())) {
      std::vector<std::string> words = Split(std::string_view(line.data(), line.size()));
      std::string key = words[0];
      words.erase(words.begin());
      t->variants[key] = std::move(words);
    }
    for (int s = 0; s < 2; ++s) {
      for (const std::string& pair : Split(s == 0 ? kSimilarMale : kSimilarFemale)) {
        std::vector<std::string> two = absl::StrSplit(pair, '/');
        t->similar[s].push_back({two[0], two[1]});
      }
    }
    return t;
  }();
  return *tables;
}

// clang-format on

}  // namespace

const std::vector<std::string>& Surnames(Community c) { return GetTables().surnames[static_cast<int>(c)]; }

const std::vector<std::string>& GivenNames(Community c, char sex, int birth_year) {
  const Tables& t = GetTables();
  int s = sex == 'F' ? 1 : 0;
  if (c != Community::kBritish) return t.given[static_cast<int>(c)][s];
  int cohort = birth_year < 1946 ? 0 : birth_year < 1966 ? 1 : birth_year < 1986 ? 2 : 3;
  return t.british_given[s][cohort];
}

const std::vector<std::string>& SurnamePrefixes() { return GetTables().prefixes; }
const std::vector<std::string>& SurnameMiddles() { return GetTables().middles; }
const std::vector<std::string>& SurnameSuffixes() { return GetTables().suffixes; }
const std::vector<District>& Districts() { return GetTables().districts; }
const std::vector<std::string>& StreetNames() { return GetTables().streets; }
const std::vector<std::string>& CareHomeNames() { return GetTables().care_homes; }
const std::vector<Practice>& Practices() { return GetTables().practices; }

const std::vector<std::string>& NameVariants(std::string_view given) {
  static const std::vector<std::string> kNone;
  const auto& v = GetTables().variants;
  auto it = v.find(given);
  return it == v.end() ? kNone : it->second;
}

const std::vector<std::pair<std::string, std::string>>& SimilarNamePairs(char sex) {
  return GetTables().similar[sex == 'F' ? 1 : 0];
}

}  // namespace empi::generator_internal
